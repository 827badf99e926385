"""What a run leaves behind: `run.json`, rewritten after every step so a crashed run still tells its story."""

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from deepfake.pipelines.local.cache import ArtifactRecord


class StepState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    CACHED = "cached"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def done_ok(self) -> bool:
        return self in (StepState.SUCCEEDED, StepState.CACHED)


class AttemptRecord(BaseModel):
    number: int
    exit_code: int
    duration_s: float
    reason: str | None = None


class StepRecord(BaseModel):
    name: str
    type: str
    state: StepState = StepState.PENDING
    reason: str | None = None
    started_at: datetime | None = None
    duration_s: float | None = None
    folder: Path | None = None
    log: Path | None = None
    params: dict[str, str] = {}
    cache_key: str | None = None
    cached_from: str | None = None
    attempts: list[AttemptRecord] = []
    outputs: dict[str, ArtifactRecord] = {}
    outcome: bool | None = None
    package: dict[str, Any] | None = None


class RunRecord(BaseModel):
    pipeline: str
    execution_id: str
    target: str
    state: StepState = StepState.RUNNING
    failure: str | None = None
    started_at: datetime
    duration_s: float | None = None
    folder: Path
    parameters: dict[str, Any]
    steps: dict[str, StepRecord]

    def save(self) -> None:
        temporary = self.folder / ".run.json.tmp"
        temporary.write_text(self.model_dump_json(indent=2))
        temporary.replace(self.folder / "run.json")
