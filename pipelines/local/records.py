"""What a run leaves behind: `run.json`, rewritten after every step so a crashed run still tells its story."""

import os
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from deepfake.pipelines.local.cache import ArtifactRecord


class StepState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    CACHED = "cached"
    FAILED = "failed"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"

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
    metrics: dict[str, list[float]] = Field(
        default_factory=dict, description="The values of the component's declared metrics, as its log printed them."
    )


class RunRecord(BaseModel):
    pipeline: str
    execution_id: str
    target: str
    pid: int | None = Field(None, description="The runner's process while the run is running.")
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


def mark_interrupted(pipeline_folder: Path) -> list[RunRecord]:
    """Runs left `running` by a runner that is gone (killed, the machine rebooted) become `interrupted`, with
    their running step, so no record claims to be running forever; returns the runs marked."""
    marked = []
    for path in sorted(pipeline_folder.glob("*/run.json")):
        try:
            record = RunRecord.model_validate_json(path.read_text())
        except (OSError, ValidationError):
            continue  # not a record this runner wrote; leave it alone
        if record.state is not StepState.RUNNING or (record.pid is not None and _alive(record.pid)):
            continue
        record.state = StepState.INTERRUPTED
        record.failure = record.failure or f"interrupted: the runner (pid {record.pid}) stopped before the run ended"
        for step in record.steps.values():
            if step.state is StepState.RUNNING:
                step.state, step.reason = StepState.INTERRUPTED, "the runner stopped while this step ran"
        record.pid = None
        record.save()
        marked.append(record)
    return marked


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process has this pid
    return True
