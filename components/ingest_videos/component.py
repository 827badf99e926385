"""Lists a dataset's videos with labels, groups and splits, probes each one, and writes the video manifest."""

import logging
import math
import os
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from queue import Queue
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from deepfake.components import Component, ComponentKind, InputSpec, OutputSpec, RunContext
from deepfake.components.dataset_files import resolve_inside
from deepfake.components.faces.probing import Prober
from deepfake.components.faces.sampling import VideoProbe, VideoReadError, check_frame_size
from deepfake.components.ingest_videos.readers import (
    DatasetFormat,
    ListedVideo,
    Listing,
    detect_format,
    read_dataset,
    video_id,
)
from deepfake.components.manifests import (
    SPLITS,
    VIDEO_FOLDER,
    VIDEO_MANIFEST,
    JsonlWriter,
    Label,
    RejectedVideo,
    Split,
    VideoRecord,
    safe_relative_path,
    write_json,
    write_jsonl,
)
from deepfake.components.pools import QUEUED_PER_WORKER, in_order

log = logging.getLogger(__name__)
REASONS_IN_FAILURE = 3
PROGRESS_EVERY = 1000


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["auto", "dfdc", "faceforensics", "celeb-df", "csv", "unlabeled"] = Field(
        "auto",
        description="The dataset layout; auto picks it from what is at the dataset root (never unlabeled: every"
        " video file under the root, without labels, for scoring).",
    )
    csv_file: str = Field(
        "labels.csv",
        min_length=1,
        description="Path of the labels CSV relative to the dataset root, read by the csv format and auto-detection.",
    )
    max_videos: int | None = Field(
        None, ge=1, description="Keep only the first N entries by id, for quick runs; all when unset."
    )
    workers: int | None = Field(
        None, ge=1, le=256, description="Videos probed in parallel; the machine's CPU count when unset."
    )
    max_frame_pixels: int = Field(
        3840 * 2160, ge=64 * 64, description="Videos with larger frames are rejected (the same guard as extract-faces)."
    )

    @field_validator("csv_file")
    @classmethod
    def _inside_root(cls, value: str) -> str:
        path = PurePosixPath(value.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts:
            raise ValueError("must be a path relative to the dataset root, without '..' (e.g. labels.csv)")
        return value


@dataclass(frozen=True)
class Candidate:
    """A listed video whose path is known to stay inside the root."""

    id: str
    relative: str
    path: Path
    entry: ListedVideo


def run(params: Params, ctx: RunContext) -> None:
    root = ctx.inputs["videos"]
    out = ctx.outputs["manifest"]
    dataset_format: DatasetFormat = detect_format(root, params.csv_file) if params.format == "auto" else params.format
    log.info("reading %s as %s", root, dataset_format)
    listing = read_dataset(dataset_format, root, params.csv_file)
    candidates, rejected = check_paths(root, listing)
    candidates.sort(key=lambda candidate: candidate.id)
    kept = candidates[: params.max_videos] if params.max_videos else candidates
    workers = params.workers or os.cpu_count() or 1
    tally = ManifestTally()
    # The candidates are sorted by id and probed in order, so each record is written as it comes: a DFDC-sized
    # manifest is never held as records.
    with JsonlWriter(out / "videos.jsonl") as videos:
        for done, (candidate, result) in enumerate(probe_all(kept, workers, params.max_frame_pixels), start=1):
            if done % PROGRESS_EVERY == 0:
                log.info("probed %d of %d videos", done, len(kept))
            if isinstance(result, str):
                rejected.append(RejectedVideo(path=candidate.entry.path, reason=result))
            else:
                record = to_record(candidate, result, dataset_format)
                videos.row(record)
                tally.add(record)
    rejected.sort(key=lambda row: (row.path, row.reason))
    write_jsonl(out / "rejected.jsonl", rejected)
    listed = len(listing.videos) + len(listing.rejected)
    write_json(out / "summary.json", summarise(params, dataset_format, listed, tally, rejected))
    log.info("%d listed, %d accepted, %d rejected", listed, tally.accepted, len(rejected))
    if not tally.accepted:
        reasons = "; ".join(f"{row.path}: {row.reason}" for row in rejected[:REASONS_IN_FAILURE])
        raise ValueError(
            f"no usable video in {dataset_format} dataset: {listed} listed, {len(rejected)} rejected"
            + (f" (first: {reasons}); see rejected.jsonl" if reasons else "; check the format and csv_file params")
        )


def check_paths(root: Path, listing: Listing) -> tuple[list[Candidate], list[RejectedVideo]]:
    """Refuse paths that leave the root and any entry whose id was already listed (the first listing wins)."""
    rejected = list(listing.rejected)
    candidates: list[Candidate] = []
    first_by_id: dict[str, str] = {}
    for entry in listing.videos:
        try:
            path = safe_relative_path(root, entry.path)
            if os.path.lexists(path):
                resolve_inside(root, path)  # a regular file: never a FIFO or device, which would block the probe
        except ValueError as exc:
            rejected.append(RejectedVideo(path=entry.path, reason=str(exc)))
            continue
        relative = path.relative_to(root).as_posix()
        identifier = video_id(relative)
        if identifier in first_by_id:
            reason = f"duplicate entry: id {identifier} is already listed as {first_by_id[identifier]}"
            rejected.append(RejectedVideo(path=entry.path, reason=reason))
            continue
        first_by_id[identifier] = entry.path
        candidates.append(Candidate(identifier, relative, path, entry))
    return candidates, rejected


def probe_all(
    candidates: list[Candidate], workers: int, max_frame_pixels: int
) -> Iterator[tuple[Candidate, VideoProbe | str]]:
    """Each candidate with its probe or rejection reason, in the candidates' order; `workers` threads, each with its
    own probing process, fed through a short window (not one future a video of a DFDC-sized listing at once)."""
    probers: Queue[Prober] = Queue()

    def probe_one(candidate: Candidate) -> VideoProbe | str:
        prober = probers.get()
        try:
            return probe_file(candidate.path, prober, max_frame_pixels)
        finally:
            probers.put(prober)

    with ExitStack() as stack:
        for _ in range(min(workers, len(candidates)) or 1):
            probers.put(stack.enter_context(Prober()))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            yield from in_order(pool, probe_one, candidates, workers * QUEUED_PER_WORKER)


def probe_file(path: Path, prober: Prober, max_frame_pixels: int) -> VideoProbe | str:
    """The probe, or the reason the video cannot be used; runs in a worker thread, the decoding in the prober's
    child process, so a file that crashes the decoder is one rejection, not the end of the batch."""
    if not path.is_file():
        return "missing file"
    try:
        info = prober.probe(path)
        check_frame_size(info, max_frame_pixels)
    except VideoReadError as exc:
        return str(exc)
    if not math.isfinite(info.fps) or info.fps <= 0:
        return f"no usable frame rate ({info.fps})"
    return info


def to_record(candidate: Candidate, info: VideoProbe, dataset_format: DatasetFormat) -> VideoRecord:
    entry = candidate.entry
    return VideoRecord(
        id=candidate.id,
        path=candidate.relative,
        label=entry.label,
        group=entry.group or candidate.id,
        source_split=entry.source_split,
        method=entry.method,
        dataset=dataset_format,
        frames=info.frames,
        fps=info.fps,
        width=info.width,
        height=info.height,
        duration_s=info.duration_s,
    )


@dataclass
class ManifestTally:
    """What summary.json says of the accepted videos, counted as each record is written."""

    labels: Counter[Label | None] = field(default_factory=Counter)
    per_split: Counter[tuple[Split | None, Label | None]] = field(default_factory=Counter)
    groups: set[str] = field(default_factory=set)

    @property
    def accepted(self) -> int:
        return sum(self.labels.values())

    def add(self, record: VideoRecord) -> None:
        self.labels[record.label] += 1
        self.per_split[record.source_split, record.label] += 1
        self.groups.add(record.group)


def summarise(
    params: Params,
    dataset_format: DatasetFormat,
    listed: int,
    tally: ManifestTally,
    rejected: list[RejectedVideo],
) -> dict[str, object]:
    per_split = {
        split or "none": {
            "videos": sum(count for (source, _), count in tally.per_split.items() if source == split),
            "real": tally.per_split[split, 0],
            "fake": tally.per_split[split, 1],
        }
        for split in (*SPLITS, None)
    }
    return {
        "format": dataset_format,
        "detected": params.format == "auto",
        "listed": listed,
        "accepted": tally.accepted,
        "rejected": len(rejected),
        "skipped_by_max_videos": listed - tally.accepted - len(rejected),
        "real": tally.labels[0],
        "fake": tally.labels[1],
        "unlabeled": tally.labels[None],
        "groups": len(tally.groups),
        "source_splits": per_split,
    }


COMPONENT = Component(
    name="ingest-videos",
    version="1.4.0",
    kind=ComponentKind.PROCESSING,
    image="deepfake/ingest-videos",
    description=__doc__,
    params=Params,
    run=run,
    entry_module="deepfake.components.ingest_videos",
    inputs={
        "videos": InputSpec(
            type=VIDEO_FOLDER,
            description="The dataset root (DFDC, FaceForensics++, Celeb-DF v2, a labels CSV, or unlabeled videos).",
        )
    },
    outputs={
        "manifest": OutputSpec(
            type=VIDEO_MANIFEST, description="videos.jsonl sorted by id, rejected.jsonl with reasons, summary.json."
        )
    },
)
