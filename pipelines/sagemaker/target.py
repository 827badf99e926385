"""Everything a compiled definition depends on besides the DAG: region, role, bucket, images, limits, from settings."""

import boto3
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from deepfake.components.params import describe_validation_error
from deepfake.components.spec import ComponentSpec
from deepfake.pipelines.dag import PipelineDefinitionError
from deepfake.pipelines.images.resolver import REGISTRY_HOST, ImageResolver
from deepfake.pipelines.images.targets import ImageBuildError, named_image
from deepfake.pipelines.settings import Settings


class CompileError(PipelineDefinitionError):
    """The DAG or the settings cannot become a SageMaker pipeline; the message names the field and the fix."""


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

    @classmethod
    def from_settings(cls, settings: Settings) -> "SageMakerTarget":
        region = settings.region or boto3.Session().region_name
        required = {
            "region": (region, "DEEPFAKE_REGION=eu-west-1 (or AWS_REGION)"),
            "pipeline_role_arn": (settings.pipeline_role_arn, "DEEPFAKE_PIPELINE_ROLE_ARN=arn:aws:iam::<id>:role/<r>"),
            "bucket": (settings.bucket, "DEEPFAKE_BUCKET=<bucket for pipeline artifacts>"),
        }
        for field, (value, fix) in required.items():
            if not value:
                raise CompileError(f"setting '{field}' is not set and SageMaker needs it: export {fix}")
        try:
            return cls(
                region=region,
                images=ImageResolver.from_settings(settings),
                **settings.model_dump(include=set(cls.model_fields) - {"region", "images"}),
            )
        except ValidationError as exc:
            raise CompileError(describe_validation_error(exc, "setting")) from exc

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
        if not REGISTRY_HOST.match(uri):
            raise CompileError(
                f"image of '{name}' resolves to {uri}, which SageMaker cannot pull: push it (`make build-components"
                " REGISTRY=<account>.dkr.ecr.<region>.amazonaws.com`, which writes the images manifest) or export"
                " DEEPFAKE_IMAGE_REGISTRY=<account>.dkr.ecr.<region>.amazonaws.com"
            )
        return uri
