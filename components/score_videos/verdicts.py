"""The verdicts artifact: one row a video, the same rows as JSONL (for programs) and CSV (for spreadsheets)."""

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from deepfake.components.artifacts import ArtifactType
from deepfake.components.classifier.model import Aggregation
from deepfake.components.manifests import write_jsonl

VERDICTS_JSONL = "verdicts.jsonl"
VERDICTS_CSV = "verdicts.csv"
UNSCORABLE = "UNSCORABLE"
VerdictLabel = Literal["REAL", "FAKE", "UNSCORABLE"]

VIDEO_VERDICTS = ArtifactType(
    name="VideoVerdicts",
    description=f"{VERDICTS_JSONL} and {VERDICTS_CSV}: one Verdict a video (REAL, FAKE or UNSCORABLE), sorted by id",
    required_files=(VERDICTS_JSONL, VERDICTS_CSV),
)


class Verdict(BaseModel):
    """An UNSCORABLE video has no probability and says why: it is listed, never guessed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    video_id: str
    path: str = Field(description="The video's path relative to the dataset root.")
    label: VerdictLabel
    probability_fake: float | None = Field(ge=0, le=1, description="Aggregated over the faces scored.")
    faces_scored: int = Field(ge=0)
    aggregation: Aggregation
    threshold: float = Field(gt=0, lt=1, description="FAKE at or above this probability_fake.")
    reason: str | None = Field(None, description="Why the video is UNSCORABLE.")


def write_verdicts(folder: Path, verdicts: Sequence[Verdict]) -> None:
    write_jsonl(folder / VERDICTS_JSONL, verdicts)
    temporary = folder / f".{VERDICTS_CSV}.tmp"
    with temporary.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(Verdict.model_fields))
        writer.writeheader()
        for verdict in verdicts:
            writer.writerow({key: "" if value is None else value for key, value in verdict.model_dump().items()})
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(folder / VERDICTS_CSV)
