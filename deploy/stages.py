"""Deployment stages: their configs (`deploy/config/<stage>-config.json`) and the target that hosts an endpoint.

One rollout drives two targets: CloudFormation stacks of SageMaker endpoints on AWS, and serving processes on
127.0.0.1 on one machine. Both implement `StageTarget`.
"""

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, Field, ValidationError

from deepfake.pipelines.registry import ModelPackage

CONFIG_DIR = Path(__file__).parent / "config"


class Stage(StrEnum):
    STAGING = "staging"
    PROD = "prod"


class DeployError(RuntimeError):
    """A stage that could not be deployed, reached or restored; the message says how it was left and what to do."""


class StageConfigError(ValueError):
    """A stage config that is missing or invalid; the message names the file and the field."""


class StageConfig(BaseModel):
    stage: Stage
    instance_type: str = Field(description="SageMaker hosting instance type, e.g. ml.m5.large")
    instance_count: int = Field(ge=1, le=20)
    data_capture_sampling_percentage: int = Field(ge=0, le=100)
    local_port: int = Field(ge=1024, le=65535, description="Port of the stage's endpoint in the local rollout")

    @classmethod
    def load(cls, stage: Stage, folder: Path = CONFIG_DIR) -> "StageConfig":
        path = folder / f"{stage.value}-config.json"
        if not path.is_file():
            raise StageConfigError(f"no config for stage '{stage.value}': expected {path}")
        try:
            config = cls.model_validate_json(path.read_text())
        except ValidationError as exc:
            raise StageConfigError(f"{path} is invalid: {exc}") from exc
        if config.stage is not stage:
            raise StageConfigError(f"{path}: 'stage' is '{config.stage.value}', expected '{stage.value}'")
        return config


class Outcome(StrEnum):
    DEPLOYED = "deployed"  # smoke test passed: the stage serves the package
    PROMOTED = "promoted"  # prod serves the package staging served
    FAILED = "failed"  # deploy or smoke test failed: the stage was restored to what it served before
    ROLLED_BACK = "rolled-back"  # by hand: the stage serves what it served before the package
    REMOVED = "removed"  # the stage was stopped


class Deployment(BaseModel):
    """One event of a stage, as recorded in the deployment history (one JSON line each)."""

    stage: Stage
    group: str
    version: int = Field(description="The package the event concerns")
    outcome: Outcome
    endpoint: str = Field("", description="Where the stage answers: an endpoint name on AWS, a URL locally")
    at: datetime
    detail: str = ""


class InvocationResult(BaseModel):
    status: int
    body: bytes


class StageTarget(Protocol):
    def deploy(self, package: ModelPackage, config: StageConfig) -> str:
        """Bring the stage up serving `package` (replacing what it served); return its endpoint."""
        ...

    def invoke(self, config: StageConfig, body: bytes, content_type: str) -> InvocationResult:
        """One real request to the stage's endpoint."""
        ...

    def restore(self, config: StageConfig, previous: ModelPackage | None) -> None:
        """Roll the stage back to `previous`, or remove it when there was none."""
        ...

    def where(self, config: StageConfig) -> tuple[str, bool]:
        """The stage's endpoint, and whether it is up."""
        ...

    def deployed_package(self, config: StageConfig) -> str | None:
        """`group/version` the stage was deployed with (what its verdicts name); None when it serves nothing."""
        ...

    def stray(self, config: StageConfig) -> str | None:
        """Something answering at the stage's endpoint that this target did not start, and what to do about it."""
        ...
