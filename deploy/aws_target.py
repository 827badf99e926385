"""A stage on AWS: a CloudFormation stack `<project>-<stage>` from the endpoint template, serving one model package.

The stage's parameters and tags are rendered once, as the TemplateConfiguration JSON that CodePipeline's
CloudFormation action reads (`<stage>-config-export.json`); `CloudFormationTarget` passes the same values to
CreateStack/UpdateStack, so a rollout from the CLI and one from the deployment pipeline deploy identical stacks.
"""

import time
from collections.abc import Callable
from pathlib import Path

import boto3
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from deepfake.deploy.stages import CONFIG_DIR, DeployError, InvocationResult, Stage, StageConfig
from deepfake.pipelines.registry import ModelPackage, ModelRegistry
from deepfake.pipelines.settings import Settings

ENDPOINT_TEMPLATE = Path(__file__).parent / "templates" / "endpoint-config-template.yml"
DEFAULT_PROJECT = "deepfake-detector"
MAX_RESPONSE_BYTES = 6 * 1024**2  # SageMaker's own cap on a real-time response
# Stacks CloudFormation cannot update: a failed first creation must be deleted before the stage is created again.
DELETE_BEFORE_CREATE = {"ROLLBACK_COMPLETE"}
STUCK = {"CREATE_FAILED", "ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED", "UPDATE_FAILED"}


class StackError(DeployError):
    """A stage stack that did not reach the state asked for; the message has its status, reason and the fix."""


class AwsProject(BaseModel):
    """The project a stage belongs to and what its stacks need (from `Settings`, i.e. `DEEPFAKE_DEPLOY_*`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Lower case: SageMaker lower-cases endpoint ARNs, and the pipeline's IAM policies name them.
    name: str = Field(pattern=r"^[a-z0-9](-*[a-z0-9])*$", max_length=55)
    id: str = Field(min_length=1, max_length=256)
    model_role_arn: str = Field(pattern=r"^arn:aws[a-z\-]*:iam::\d{12}:role/.+$")
    data_capture_uri: str = Field(pattern=r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")
    endpoint_template: str = str(ENDPOINT_TEMPLATE)
    region: str | None = None
    poll_seconds: float = Field(30, gt=0)
    timeout_seconds: float = Field(3600, gt=0)

    @classmethod
    def from_settings(cls, settings: Settings) -> "AwsProject":
        required = {
            "DEEPFAKE_PROJECT_ID": settings.project_id,
            "DEEPFAKE_BUCKET": settings.bucket,
            "DEEPFAKE_DEPLOY_MODEL_ROLE_ARN": settings.deploy_model_role_arn,
        }
        missing = [name for name, value in required.items() if not value]
        if missing:
            raise ValueError(
                f"deploying to SageMaker needs {', '.join(missing)}: set them in the environment"
                " (README, 'Deployment on AWS')"
            )
        return cls(
            name=settings.project_name or DEFAULT_PROJECT,
            id=settings.project_id,
            model_role_arn=settings.deploy_model_role_arn,
            data_capture_uri=f"s3://{settings.bucket}/data-capture",
            endpoint_template=settings.deploy_endpoint_template or str(ENDPOINT_TEMPLATE),
            region=settings.region,
            poll_seconds=settings.deploy_stack_poll_seconds,
            timeout_seconds=settings.deploy_stack_timeout_seconds,
        )

    def stack_name(self, stage: Stage) -> str:
        """Also the endpoint's name (the template names it `${ProjectName}-${StageName}`)."""
        return f"{self.name}-{stage.value}"


class TemplateConfiguration(BaseModel):
    """CodePipeline's CloudFormation TemplateConfiguration file: `{"Parameters": {...}, "Tags": {...}}`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    parameters: dict[str, str] = Field(alias="Parameters")
    tags: dict[str, str] = Field(alias="Tags")

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(by_alias=True, indent=2) + "\n")
        return path


def stage_template_configuration(
    config: StageConfig, package: ModelPackage, project: AwsProject
) -> TemplateConfiguration:
    """The endpoint template's parameters for one stage serving `package`, and the stack's tags."""
    if package.arn is None:
        raise ValueError(
            f"{package.group} version {package.version} has no model package ARN (a local registry package?):"
            " deploy to SageMaker from SageMaker Model Registry (SageMakerRegistry)"
        )
    stack = project.stack_name(config.stage)
    return TemplateConfiguration(
        parameters={
            "ProjectName": project.name,
            "ModelPackageName": package.arn,
            "ModelExecutionRoleArn": project.model_role_arn,
            "StageName": config.stage.value,
            "EndpointInstanceType": config.instance_type,
            "EndpointInstanceCount": str(config.instance_count),
            "SamplingPercentage": str(config.data_capture_sampling_percentage),
            "DataCaptureUploadPath": f"{project.data_capture_uri.rstrip('/')}/{stack}",
        },
        tags={
            "sagemaker:project-name": project.name,
            "sagemaker:project-id": project.id,
            "stage": config.stage.value,
        },
    )


def render_stage_configs(
    registry: ModelRegistry, group: str, project: AwsProject, out_dir: Path, config_dir: Path = CONFIG_DIR
) -> list[Path]:
    """`<stage>-config-export.json` for every stage, all serving the newest approved package of `group`."""
    package = registry.newest_approved(group)
    return [
        stage_template_configuration(StageConfig.load(stage, config_dir), package, project).write(
            out_dir / f"{stage.value}-config-export.json"
        )
        for stage in Stage
    ]


class CloudFormationTarget:
    """`StageTarget` on AWS: deploy = create or update the stage's stack and wait; restore = update back or delete."""

    def __init__(self, project: AwsProject, sleep: Callable[[float], None] = time.sleep) -> None:
        self.project, self.sleep = project, sleep
        self.cloudformation = boto3.client("cloudformation", region_name=project.region)
        self.runtime = boto3.client("sagemaker-runtime", region_name=project.region)

    def deploy(self, package: ModelPackage, config: StageConfig) -> str:
        stack = self.project.stack_name(config.stage)
        configuration = stage_template_configuration(config, package, self.project)
        status = self._settle(stack)
        if status in STUCK:
            raise StackError(
                f"stack {stack} is {status}: fix it in the CloudFormation console (continue the rollback or"
                f" delete the stack) before deploying; last failure: {self._failure_reason(stack)}"
            )
        if status in DELETE_BEFORE_CREATE:
            self._delete(stack)
            status = None
        arguments = {
            "StackName": stack,
            **self._template(),
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in configuration.parameters.items()],
            "Tags": [{"Key": k, "Value": v} for k, v in configuration.tags.items()],
        }
        if status is None:
            self.cloudformation.create_stack(**arguments)
            expected = "CREATE_COMPLETE"
        else:
            try:
                self.cloudformation.update_stack(**arguments)
            except ClientError as exc:
                if "No updates are to be performed" not in str(exc):
                    raise
                return self._endpoint(stack)
            expected = "UPDATE_COMPLETE"
        final = self._settle(stack)
        if final != expected:
            raise StackError(
                f"stack {stack} ended {final or 'deleted'} instead of {expected} while deploying"
                f" {package.group} version {package.version}: {self._failure_reason(stack)}"
            )
        return self._endpoint(stack)

    def invoke(self, config: StageConfig, body: bytes, content_type: str) -> InvocationResult:
        """An endpoint's error answers (4xx/5xx from the container or SageMaker) come back as results, not raised."""
        endpoint = self._endpoint(self.project.stack_name(config.stage))
        try:
            response = self.runtime.invoke_endpoint(
                EndpointName=endpoint, Body=body, ContentType=content_type, Accept="application/json"
            )
        except ClientError as exc:
            error = exc.response
            status = error.get("OriginalStatusCode") or error["ResponseMetadata"]["HTTPStatusCode"]
            message = error.get("OriginalMessage") or error["Error"].get("Message", "")
            return InvocationResult(status=int(status), body=message.encode())
        answer = response["Body"].read(MAX_RESPONSE_BYTES + 1)
        if len(answer) > MAX_RESPONSE_BYTES:
            raise StackError(f"endpoint {endpoint} answered more than {MAX_RESPONSE_BYTES} bytes")
        return InvocationResult(status=response["ResponseMetadata"]["HTTPStatusCode"], body=answer)

    def restore(self, config: StageConfig, previous: ModelPackage | None) -> None:
        if previous is not None:
            self.deploy(previous, config)
            return
        stack = self.project.stack_name(config.stage)
        if self._settle(stack) is not None:
            self._delete(stack)

    def where(self, config: StageConfig) -> tuple[str, bool]:
        """The stage's endpoint name and whether its stack is in a complete, serving state."""
        stack = self.project.stack_name(config.stage)
        status = self._status(stack)
        if status is None:
            return f"{stack} (no stack)", False
        return self._outputs(stack).get("EndpointName", stack), status in ("CREATE_COMPLETE", "UPDATE_COMPLETE")

    def stray(self, config: StageConfig) -> str | None:
        """A stack is found by its name, whoever created it: nothing can be stray."""
        return None

    def deployed_package_arn(self, stage: Stage) -> str | None:
        """The model package the stage's stack serves; None when the stage has no stack."""
        stack = self.project.stack_name(stage)
        return self._outputs(stack).get("ModelPackageName") if self._status(stack) else None

    def deployed_package(self, config: StageConfig) -> str | None:
        """From the package ARN (`...:model-package/<group>/<version>`), as the template passes it to the server."""
        arn = self.deployed_package_arn(config.stage)
        return arn.split(":model-package/", 1)[1] if arn else None

    def _template(self) -> dict[str, str]:
        location = self.project.endpoint_template
        if location.startswith("https://"):
            return {"TemplateURL": location}
        path = Path(location)
        if not path.is_file():
            raise StackError(f"endpoint template {path} does not exist: set DEEPFAKE_DEPLOY_ENDPOINT_TEMPLATE")
        return {"TemplateBody": path.read_text()}

    def _delete(self, stack: str) -> None:
        self.cloudformation.delete_stack(StackName=stack)
        final = self._settle(stack)
        if final is not None:
            raise StackError(f"stack {stack} ended {final} instead of deleted: {self._failure_reason(stack)}")

    def _status(self, stack: str) -> str | None:
        """The stack's status; None when there is none (never created, or deleted)."""
        try:
            stacks = self.cloudformation.describe_stacks(StackName=stack)["Stacks"]
        except ClientError as exc:
            if "does not exist" in str(exc):
                return None
            raise
        status = stacks[0]["StackStatus"] if stacks else None
        return None if status == "DELETE_COMPLETE" else status

    def _settle(self, stack: str) -> str | None:
        """Wait until no operation is in progress on the stack; its final status (None: no stack)."""
        deadline = time.monotonic() + self.project.timeout_seconds
        while (status := self._status(stack)) is not None and status.endswith("_IN_PROGRESS"):
            if time.monotonic() > deadline:
                raise StackError(
                    f"stack {stack} is still {status} after {self.project.timeout_seconds:g} s:"
                    " raise DEEPFAKE_DEPLOY_STACK_TIMEOUT_SECONDS or check the stack's events"
                )
            self.sleep(self.project.poll_seconds)
        return status

    def _outputs(self, stack: str) -> dict[str, str]:
        stacks = self.cloudformation.describe_stacks(StackName=stack)["Stacks"]
        return {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}

    def _endpoint(self, stack: str) -> str:
        if self._status(stack) is None:
            raise StackError(f"stage stack {stack} does not exist: deploy the stage first")
        endpoint = self._outputs(stack).get("EndpointName")
        if endpoint is None:
            raise StackError(f"stack {stack} has no EndpointName output: was it created from {ENDPOINT_TEMPLATE.name}?")
        return endpoint

    def _failure_reason(self, stack: str) -> str:
        try:
            events = self.cloudformation.describe_stack_events(StackName=stack)["StackEvents"]
        except ClientError:
            return "no stack events"
        for event in events:
            if event["ResourceStatus"].endswith("FAILED") and event.get("ResourceStatusReason"):
                return f"{event['LogicalResourceId']}: {event['ResourceStatusReason']}"
        return "no failure reason recorded"
