"""Everything a compiled definition depends on besides the DAG: region, role, bucket, images, limits, from settings."""

import boto3
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from deepfake.components.spec import ComponentSpec
from deepfake.pipelines.dag import PipelineDefinitionError
from deepfake.pipelines.images.resolver import REGISTRY_HOST, ImageResolver
from deepfake.pipelines.images.targets import ImageBuildError, named_image
from deepfake.pipelines.settings import Settings


class CompileError(PipelineDefinitionError):
    """The DAG or the settings cannot become a SageMaker pipeline; the message names the field and the fix."""


LOCAL_REGION = "us-east-1"
LOCAL_ROLE = "arn:aws:iam::000000000000:role/sagemaker-local"  # the SDK's local mode needs one and never uses it
SETTING_FORMS = {
    "bucket": "an S3 bucket name (3-63 lowercase letters, digits, '.' and '-')",
    "pipeline_role_arn": "an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)",
}


class SageMakerTarget(BaseModel):
    """Everything a compiled definition depends on besides the DAG, checked once from settings."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    region: str
    pipeline_role_arn: str = Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    images: ImageResolver
    processing_instance_type: str
    training_instance_type: str
    processing_volume_gb: int
    training_volume_gb: int
    max_runtime_s: int
    sharded_inputs: dict[str, str]
    step_cache: bool
    cache_expire_after: str
    training_checkpoints: bool
    job_retries: int
    job_retry_interval_seconds: int
    local_mode: bool = False

    @classmethod
    def from_settings(cls, settings: Settings, local_mode: bool = False) -> "SageMakerTarget":
        """Every missing or malformed setting in one error, each with the variable that sets it (no AWS call).

        In the SDK's local mode nothing reaches SageMaker: the region and role need no value, and images may be local.
        """
        if local_mode:
            settings = settings.model_copy(
                update={
                    "region": settings.region or boto3.Session().region_name or LOCAL_REGION,
                    "pipeline_role_arn": settings.pipeline_role_arn or LOCAL_ROLE,
                }
            )
        region = settings.region or boto3.Session().region_name
        images = ImageResolver.from_settings(settings)
        needed = {
            "DEEPFAKE_REGION=eu-west-1  # or AWS_REGION; --region": region,
            "DEEPFAKE_PIPELINE_ROLE_ARN=arn:aws:iam::<account>:role/<role>  # --role-arn": settings.pipeline_role_arn,
            "DEEPFAKE_BUCKET=<bucket for step outputs>  # --bucket": settings.bucket,
            "DEEPFAKE_IMAGE_REGISTRY=<account>.dkr.ecr.<region>.amazonaws.com  # --image-registry; or push the images"
            f" (make build-components REGISTRY=...), which writes {settings.images_manifest}": images.manifest
            or settings.image_registry
            or local_mode,  # local mode runs the images tagged on this machine
        }
        missing = [f"  export {fix}" for fix, value in needed.items() if not value]
        if missing:
            raise CompileError("SageMaker needs these settings, which are not set:\n" + "\n".join(missing))
        try:
            return cls(
                region=region,
                images=images,
                local_mode=local_mode,
                **settings.model_dump(include=set(cls.model_fields) - {"region", "images", "local_mode"}),
            )
        except ValidationError as exc:
            raise CompileError(
                "; ".join(
                    f"DEEPFAKE_{'_'.join(map(str, error['loc'])).upper()}={error['input']!r} is not"
                    f" {SETTING_FORMS.get(str(error['loc'][0]), 'valid')}: {error['msg']}"
                    for error in exc.errors()
                )
            ) from exc

    def component_image(self, spec: ComponentSpec) -> str:
        return self._registry_uri(self.images.resolve(spec), spec.name)

    def image(self, repository: str) -> str:
        """An image that is not a step (the serving image of a register step), named by its repository."""
        try:
            target = named_image(repository)
        except ImageBuildError as exc:
            raise CompileError(str(exc)) from exc
        return self._registry_uri(self.images.resolve(target), target.name)

    def _registry_uri(self, uri: str, name: str) -> str:
        if not REGISTRY_HOST.match(uri) and not self.local_mode:
            raise CompileError(
                f"image of '{name}' resolves to {uri}, which SageMaker cannot pull: push it (`make build-components"
                " REGISTRY=<account>.dkr.ecr.<region>.amazonaws.com`, which writes the images manifest) or export"
                " DEEPFAKE_IMAGE_REGISTRY=<account>.dkr.ecr.<region>.amazonaws.com"
            )
        return uri
