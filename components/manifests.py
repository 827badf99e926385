"""The data stages' artifact types and row schemas: JSONL manifests of videos and faces, validated row by row."""

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from deepfake.components.artifacts import ArtifactType
from deepfake.components.params import describe_validation_error

Label = Literal[0, 1]
Split = Literal["train", "validation", "test"]
SPLITS: tuple[Split, ...] = ("train", "validation", "test")
LABEL_NAMES: dict[Label, str] = {0: "REAL", 1: "FAKE"}
Row = TypeVar("Row", bound=BaseModel)

VIDEO_FOLDER = ArtifactType(
    name="VideoFolder",
    description="a dataset's videos in a supported layout (DFDC, FaceForensics++, Celeb-DF v2, a labels CSV), or"
    " unlabeled videos to score",
)
VIDEO_MANIFEST = ArtifactType(
    name="VideoManifest",
    description="videos.jsonl (one VideoRecord a line) and rejected.jsonl (one RejectedVideo a line)",
    required_files=("videos.jsonl", "rejected.jsonl"),
)
FACE_DATASET = ArtifactType(
    name="FaceDataset",
    description=(
        "faces.jsonl (one FaceRecord a line: video, frame, track, box, score, six keypoints in frame and crop"
        " pixels; faces-<host>.jsonl per host when sharded), the JPEG crops under faces/ or in tar shards under"
        " shards/ (an image named <shard>#<member>), rejected.jsonl"
        " (rejected-<host>.jsonl)"
    ),
    required_files=("faces*.jsonl", "rejected*.jsonl"),
)
DATASET_SPLITS = ArtifactType(
    name="DatasetSplits",
    description="train.jsonl, validation.jsonl, test.jsonl (FaceRecords) and counts.json",
    required_files=("train.jsonl", "validation.jsonl", "test.jsonl", "counts.json"),
)


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VideoRecord(_Row):
    id: str = Field(min_length=1, description="Unique in the dataset: the relative path without its suffix.")
    path: str = Field(description="POSIX path relative to the dataset root.")
    label: Label | None = Field(description="0 real, 1 fake; null for an unlabeled video (to score, not to train on).")
    group: str = Field(description="The original video this one derives from (a real video is its own group).")
    source_split: Split | None = Field(None, description="The dataset's own split, when it has one.")
    method: str | None = Field(
        None,
        description="The manipulation that made a fake, where the dataset names it (FaceForensics++'s method folder,"
        " Celeb-DF's Celeb-synthesis, a CSV's method column); null for reals and where the dataset does not say"
        " (DFDC).",
    )
    perturbation: str | None = Field(
        None, description="What perturb-videos did to the original (crf40, half, blur...); null for an original."
    )
    dataset: str
    frames: int = Field(ge=0)
    fps: float = Field(ge=0)
    width: int = Field(ge=0)
    height: int = Field(ge=0)
    duration_s: float = Field(ge=0)


class RejectedVideo(_Row):
    path: str
    reason: str


class FaceRecord(_Row):
    video_id: str
    frame_index: int = Field(
        ge=0,
        description="The frame decoded: the nearest one to its evenly spaced sample that the decoder did not skip.",
    )
    image: str = Field(description="JPEG path relative to the FaceDataset folder.")
    box: tuple[int, int, int, int] = Field(description="x, y, width, height of the detected face in the frame.")
    score: float = Field(ge=0, le=1, description="The detector's confidence.")
    label: Label | None = Field(description="Its video's label; null when the video is unlabeled.")
    group: str
    source_split: Split | None = None
    method: str | None = Field(None, description="Its video's manipulation method, where the dataset names it.")
    perturbation: str | None = Field(None, description="Its video's perturbation; null for an original.")
    track: int = Field(0, ge=0, description="The person: a video's faces of one track are one face across frames.")
    keypoints: tuple[tuple[float, float], ...] = Field(
        (),
        description="BlazeFace's keypoints in frame pixels: right eye, left eye, nose tip, mouth, right ear, left ear.",
    )
    crop_keypoints: tuple[tuple[float, float], ...] = Field(
        (), description="The same keypoints in the crop's pixels (after alignment, if any)."
    )


class LabelledFace(FaceRecord):
    """A row of a split: split-dataset refuses unlabeled videos, so training and evaluation can rely on the label."""

    label: Label = Field(description="Its video's label.")


def face_files(folder: Path) -> list[Path]:
    """A FaceDataset's faces files: one, or one a host when extract-faces ran on several."""
    return sorted(folder.glob("faces*.jsonl"))


def safe_relative_path(root: Path, relative: str) -> Path:
    """`root / relative`, refusing absolute paths, `..` and symlinks that lead outside `root`."""
    candidate = PurePosixPath(relative.replace("\\", "/"))
    if candidate.is_absolute() or ".." in candidate.parts or not candidate.parts:
        raise ValueError(f"path {relative!r} must be relative and stay inside the dataset root")
    path = root / candidate
    try:
        resolved = path.resolve()
    except (RuntimeError, OSError) as exc:  # Python 3.11 raises RuntimeError for a symlink loop
        raise ValueError(f"path {relative!r} cannot be resolved ({exc}): a symlink loop; replace the link") from exc
    if not resolved.is_relative_to(root.resolve()):
        raise ValueError(f"path {relative!r} leads outside the dataset root through a link")
    return path


class AtomicFile:
    """A file written through a temporary and renamed into place when the block ends without error, so a reader
    never sees half a manifest; after an error the temporary is removed and any earlier file is left as it was."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.temporary = path.with_name(f".{path.name}.tmp")
        self.handle: BinaryIO = self.temporary.open("wb")

    def __enter__(self) -> Self:
        return self

    def write(self, data: bytes) -> None:
        self.handle.write(data)

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.handle.flush()
            os.fsync(self.handle.fileno())
        self.handle.close()
        if kind is None:
            self.temporary.replace(self.path)
        else:
            self.temporary.unlink(missing_ok=True)


class JsonlWriter(AtomicFile):
    """An atomic JSONL file written one row at a time, so a stage never holds a whole manifest to write it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.count = 0

    def row(self, row: BaseModel) -> None:
        self.write(row.model_dump_json().encode() + b"\n")
        self.count += 1


def write_jsonl(path: Path, rows: Iterable[BaseModel]) -> int:
    with JsonlWriter(path) as writer:
        for row in rows:
            writer.row(row)
    return writer.count


def iter_jsonl_lines(path: Path, model: type[Row]) -> Iterator[tuple[int, int, Row]]:
    """(byte offset, length without the line break, row) for each non-blank line, validated as it is read."""
    offset = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            start, offset = offset, offset + len(line)
            if not line.strip():
                continue
            try:
                row = model.model_validate_json(line)
            except ValidationError as exc:
                raise ValueError(f"{path.name} line {number}: {describe_validation_error(exc, 'field')}") from exc
            yield start, len(line.rstrip(b"\r\n")), row


def read_rows_at(path: Path, places: Iterable[tuple[int, int]], model: type[Row]) -> Iterator[Row]:
    """The rows at (byte offset, length) places `iter_jsonl_lines` gave, read again one at a time: what a stage
    keeps of a long manifest is where its rows are, not the rows."""
    with path.open("rb") as handle:
        for offset, length in places:
            yield model.model_validate_json(os.pread(handle.fileno(), length, offset))


def iter_jsonl(path: Path, model: type[Row]) -> Iterator[Row]:
    """The rows one at a time: what a stage uses when a manifest may not fit in memory."""
    return (row for _, _, row in iter_jsonl_lines(path, model))


def read_jsonl(path: Path, model: type[Row]) -> list[Row]:
    return list(iter_jsonl(path, model))


def write_json(path: Path, document: object) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    temporary.replace(path)


EVALUATION_REPORT = ArtifactType(
    name="EvaluationReport",
    description="evaluation.json (SageMaker model-quality metrics, video level, plus a frame-level section), roc.png,"
    " confusion_matrix.png",
    required_files=("evaluation.json",),
)
