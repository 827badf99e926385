"""One settings object; environment variables (`DEEPFAKE_*`) and CLI flags override the defaults."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEEPFAKE_", extra="ignore")

    runs_dir: Path = Path("runs")
    s3_stage_max_bytes: int = Field(100 * 1024**3, gt=0, description="Largest s3:// input the local runner downloads.")

    # AWS, shared by the SageMaker target and the deployment.
    region: str | None = Field(None, description="AWS region of pipelines, registry and endpoints (default: boto3's).")
    bucket: str | None = Field(
        None, description="S3 bucket for step outputs, checkpoints, registered model files and data capture."
    )
    project_name: str | None = Field(
        None,
        description="SageMaker project: pipelines are <project>-<pipeline>; stage stacks <project>-<stage>"
        " (default deepfake-detector).",
    )
    project_id: str | None = Field(None, description="SageMaker project id, tagged sagemaker:project-id.")

    # Component images (written by the image build; read by the SageMaker compiler).
    images_manifest: Path = Field(Path("build/images.json"), description="Pushed image URIs, one a component.")
    image_registry: str | None = Field(
        None, description="Without a manifest, images are <image_registry>/<image>:<version>, e.g. an ECR registry."
    )

    # The SageMaker target (pipelines/sagemaker/compiler.py compiles, pipelines/sagemaker/execution.py runs).
    pipeline_role_arn: str | None = Field(None, description="IAM role the pipeline and its jobs run as.")
    processing_instance_type: str = Field("ml.m5.xlarge", description="Default of ProcessingInstanceType.")
    training_instance_type: str = Field("ml.g5.xlarge", description="Default of TrainingInstanceType.")
    processing_volume_gb: int = Field(30, ge=1, le=16384, description="Storage of each processing instance.")
    training_volume_gb: int = Field(50, ge=1, le=16384, description="Storage of each training instance.")
    max_runtime_s: int = Field(86400, ge=1, le=28 * 86400, description="Longest a processing or training job runs.")
    sharded_inputs: dict[str, str] = Field(
        {"extract-faces": "videos"},
        description="Step → input split across that step's instances (ShardedByS3Key); JSON in the environment.",
    )
    step_cache: bool = Field(True, description="SageMaker step caching for steps that allow it.")
    cache_expire_after: str = Field("P30D", pattern=r"^P", description="ISO 8601 duration a cached step stays valid.")
    job_retries: int = Field(
        2,
        ge=0,
        le=19,
        description="Retries of a SageMaker job that failed on the service's side (internal error, capacity,"
        " throttling) for steps without a DAG retry policy; a failing container is never retried there.",
    )
    job_retry_interval_seconds: int = Field(60, ge=1, description="Wait before the first of those retries (doubling).")
    training_checkpoints: bool = Field(
        True,
        description="Checkpoint training to S3 per execution (a retried job resumes). SageMaker's training cache key"
        " includes the checkpoint location, so turn this off for training steps to be reused across executions.",
    )
    pipeline_poll_seconds: float = Field(30, gt=0, description="Seconds between execution status checks.")
    pipeline_wait_seconds: float = Field(6 * 3600, ge=0, description="Longest `run --target sagemaker` waits.")

    # Deployment on AWS (deploy/aws_target.py, deploy/sagemaker_registry.py).
    deploy_model_role_arn: str | None = Field(None, description="IAM role the SageMaker model runs as.")
    deploy_endpoint_template: str | None = Field(
        None, description="Endpoint stack template: a file or an https:// S3 URL (default: the packaged one)."
    )
    deploy_stack_poll_seconds: float = Field(30, gt=0, description="Seconds between CloudFormation status checks.")
    deploy_stack_timeout_seconds: float = Field(3600, gt=0, description="Longest wait for a stack to settle.")
    deploy_lock_timeout_seconds: float = Field(
        600, ge=0, description="Longest a deploy command waits for another one changing the same stages."
    )


class AwsSetupError(Exception):
    """boto3 cannot talk to AWS at all (no credentials, no region, no network): what to set, in one line."""


AUTH_ERROR_CODES = ("ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException")


def aws_setup_error(exc: Exception) -> AwsSetupError | None:
    """The setup problem `exc` shows, if it is one rather than a failed request."""
    from botocore import exceptions as aws

    if isinstance(exc, aws.NoCredentialsError | aws.PartialCredentialsError):
        problem = (
            "no AWS credentials: run `aws configure` or `aws sso login`, or export AWS_PROFILE (or"
            " AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        )
    elif isinstance(exc, aws.NoRegionError):
        problem = "no AWS region: export DEEPFAKE_REGION=<region> (or AWS_REGION)"
    elif isinstance(exc, aws.ConnectionError):
        where = exc.kwargs.get("endpoint_url") or "the AWS endpoint"
        problem = f"cannot reach {where}: check the network or proxy, the region, and AWS_ENDPOINT_URL if set"
    elif isinstance(exc, aws.ClientError) and exc.response.get("Error", {}).get("Code") in AUTH_ERROR_CODES:
        problem = (
            f"AWS refused the credentials ({exc.response['Error']['Code']}): refresh them (`aws sso login`, or new"
            " keys) and check AWS_PROFILE"
        )
    else:
        return None
    return AwsSetupError(problem)
