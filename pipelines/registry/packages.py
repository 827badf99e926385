"""The model registry interface: what the DAG's register step writes and the deployment reads.

A package is a versioned model in a group, with its model data, the serving image, its evaluation metrics and an
approval status, as in SageMaker Model Registry. Two implementations: LocalRegistry (registry/local.py, SQLite) and
SageMakerRegistry (deploy/sagemaker_registry.py, boto3).
"""

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field


class ApprovalStatus(StrEnum):
    PENDING = "PendingManualApproval"
    APPROVED = "Approved"
    REJECTED = "Rejected"


class RegistryError(LookupError):
    """A package that does not exist, or a change the registry refuses; the message says which and why."""


class ModelPackage(BaseModel):
    group: str
    version: int
    status: ApprovalStatus
    model_data: str
    image: str
    metrics: dict[str, Any]
    source: str
    created_at: datetime
    arn: str | None = Field(None, description="The model package ARN in SageMaker Model Registry; None locally")


class ModelRegistry(Protocol):
    def register(
        self, group: str, model_archive: Path, metrics_file: Path, image: str, status: ApprovalStatus, source: str
    ) -> ModelPackage: ...

    def get(self, group: str, version: int) -> ModelPackage: ...

    def list(self, group: str) -> list[ModelPackage]:
        """Newest first."""
        ...

    def set_status(self, group: str, version: int, status: ApprovalStatus) -> ModelPackage: ...

    def newest_approved(self, group: str) -> ModelPackage:
        """The approved package with the highest version; RegistryError when none is approved."""
        ...
