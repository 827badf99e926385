"""The verdicts artifact: one row a video, the same rows as JSONL (for programs) and CSV (for spreadsheets)."""

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from deepfake.components.artifacts import ArtifactType
from deepfake.components.classifier.model import Aggregation
from deepfake.components.manifests import AtomicFile, JsonlWriter
from deepfake.components.serve.schema import TrackScore

VERDICTS_JSONL = "verdicts.jsonl"
VERDICTS_CSV = "verdicts.csv"
UNSCORABLE = "UNSCORABLE"
NESTED = ("tracks",)  # one row a video in the CSV: the people are in the JSONL
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
    people: int = Field(0, ge=0, description="Tracks (people) scored.")
    suspect_track: int | None = Field(None, description="The most suspicious person, whose probability is the video's.")
    tracks: list[TrackScore] = Field(
        default_factory=list, description="Each person, most suspicious first (JSONL only)."
    )


def write_verdicts(folder: Path, verdicts: Iterable[Verdict]) -> None:
    """Both files in one pass over the verdicts, each renamed into place only when all rows are written."""
    with JsonlWriter(folder / VERDICTS_JSONL) as jsonl, AtomicFile(folder / VERDICTS_CSV) as table:
        text = io.TextIOWrapper(table.handle, newline="", write_through=True)
        writer = csv.DictWriter(text, fieldnames=[name for name in Verdict.model_fields if name not in NESTED])
        writer.writeheader()
        for verdict in verdicts:
            jsonl.row(verdict)
            row = verdict.model_dump(exclude=set(NESTED))
            writer.writerow({key: "" if value is None else value for key, value in row.items()})
        text.detach()
