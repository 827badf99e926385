"""extract-faces: for each video, N evenly spaced frames (PyAV, skipping non-reference frames), every face, tracked.

Parallel over the machine's cores (one detector a worker process). Shardable as SageMaker scales processing: with
several instances each takes its share — every `num_hosts`-th video when the videos input is fully replicated, or
the videos present locally when it is ShardedByS3Key. Resumable: each finished video leaves an atomic part file,
and a re-run skips those videos, so a killed run finishes with the same manifest.
"""

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from tqdm import tqdm

from deepfake.components import Component, ComponentKind, InputSpec, OutputSpec, RunContext
from deepfake.components.dataset_files import resolve_inside
from deepfake.components.extract_faces.extraction import (
    ExtractionSettings,
    VideoResult,
    extract_video,
    part_path,
    save_result,
)
from deepfake.components.extract_faces.shards import ShardWriter, remove_loose
from deepfake.components.face_crops import MEMBER_SEPARATOR
from deepfake.components.faces.crop import DEFAULT_MARGIN
from deepfake.components.faces.detection import FaceDetector
from deepfake.components.faces.no_dns import forbid_dns
from deepfake.components.faces.probing import Prober
from deepfake.components.manifests import (
    FACE_DATASET,
    VIDEO_FOLDER,
    VIDEO_MANIFEST,
    FaceRecord,
    JsonlWriter,
    RejectedVideo,
    VideoRecord,
    iter_jsonl,
    iter_jsonl_lines,
    read_rows_at,
    safe_relative_path,
    write_json,
)
from deepfake.components.pools import QUEUED_PER_WORKER, bounded

log = logging.getLogger(__name__)
REASONS_SHOWN = 3


@dataclass(frozen=True, slots=True)
class Listed:
    """A manifest video as a host's share holds it (~250 bytes, not a VideoRecord's ~1.5 KB): its id and path, and
    where its row is, to read it again when its turn comes."""

    id: str
    path: str
    offset: int
    length: int


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    frames_per_video: int = Field(32, ge=1, le=600, description="Evenly spaced frames sampled from each video.")
    face_size: int = Field(224, ge=32, le=1024, description="Side of the square face crops, in pixels.")
    margin: float = Field(
        DEFAULT_MARGIN, ge=0, le=1, description="Context around the face box on each side, as a fraction."
    )
    jpeg_quality: int = Field(95, ge=50, le=100)
    min_score: float = Field(0.5, gt=0, lt=1, description="Minimum detector confidence.")
    max_frame_pixels: int = Field(
        3840 * 2160, ge=64 * 64, description="Videos with larger frames are rejected (memory and decode-time guard)."
    )
    max_faces: int = Field(4, ge=1, le=16, description="Most faces kept a frame (the best scores), each in its track.")
    align: bool = Field(True, description="Rotate each crop so the eyes are level, sized by the eye distance.")
    workers: int | None = Field(None, ge=1, le=256, description="Worker processes; default: the machine's cores.")
    input_distribution: Literal["FullyReplicated", "ShardedByS3Key"] = Field(
        "FullyReplicated", description="How SageMaker distributes the videos input across instances."
    )
    shard_size: int = Field(
        0,
        ge=0,
        le=100_000,
        description="Crops a tar shard (shards/<host>-<n>.tar, the WebDataset layout: a few large files to stream"
        " instead of millions of small ones); 0 keeps loose JPEGs under faces/.",
    )


def run(params: Params, ctx: RunContext) -> None:
    forbid_dns()  # MediaPipe's usage logging must not resolve its host; the worker processes inherit this
    manifest = ctx.inputs["manifest"] / "videos.jsonl"
    videos_root, output = ctx.inputs["videos"], ctx.outputs["faces"]
    share = shard(manifest, videos_root, ctx, params.input_distribution)
    settings = ExtractionSettings(**params.model_dump(include=set(ExtractionSettings.model_fields)))
    for leftover in output.rglob(".*.tmp"):
        leftover.unlink()
    todo = [video for video in share if not part_path(output, video.id).is_file()]
    log.info(
        "host %s (%d of %d): %d videos in this share, %d already done, %d to extract",
        ctx.current_host,
        ctx.host_index + 1,
        ctx.num_hosts,
        len(share),
        len(share) - len(todo),
        len(todo),
    )
    suffix = "" if ctx.num_hosts == 1 else f"-{ctx.current_host}"
    if params.shard_size and not todo and (output / f"summary{suffix}.json").is_file():
        _remove_packed(output, output / f"faces{suffix}.jsonl")  # a finished run stopped while tidying up
        return
    started = time.perf_counter()
    records = read_rows_at(manifest, ((listed.offset, listed.length) for listed in todo), VideoRecord)
    for _ in _extract_all(records, len(todo), videos_root, output, settings, params.workers or os.cpu_count() or 1):
        pass  # each worker saved its video's part file
    _write_dataset(output, share, ctx, time.perf_counter() - started, params.shard_size)


def shard(manifest: Path, videos_root: Path, ctx: RunContext, distribution: str) -> list[Listed]:
    """This host's videos, by id. With ShardedByS3Key, SageMaker already gave each host only its files."""
    listed = sorted(
        (Listed(row.id, row.path, offset, length) for offset, length, row in iter_jsonl_lines(manifest, VideoRecord)),
        key=lambda video: video.id,
    )
    if distribution == "ShardedByS3Key":
        return [video for video in listed if _present(videos_root, video.path)]
    return listed[ctx.host_index :: ctx.num_hosts]


def _present(root: Path, path: str) -> bool:
    try:
        resolve_inside(root, safe_relative_path(root, path))
    except ValueError:
        return False
    return True


def _extract_all(
    records: Iterable[VideoRecord], total: int, root: Path, output: Path, settings: ExtractionSettings, workers: int
) -> Iterator[str]:
    """The id of each video done, in the order they finish, the videos read from the manifest as workers free up."""
    interactive = sys.stderr.isatty()
    progress = tqdm(total=total, unit="video", desc="extract-faces", disable=not interactive)
    workers = min(workers, total) or 1
    report_every = max(1, total // 10)
    try:
        if workers == 1:
            _init_worker(settings.min_score)
            yield from _tracked((_work(record, root, output, settings) for record in records), progress, report_every)
            return
        with ProcessPoolExecutor(
            workers, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(settings.min_score,)
        ) as pool:
            work = partial(_work, root=root, output=output, settings=settings)
            done = (video_id for _, video_id in bounded(pool, work, records, workers * QUEUED_PER_WORKER))
            yield from _tracked(done, progress, report_every)
    finally:
        progress.close()


def _tracked(outcomes: Iterable[str], progress: tqdm, report_every: int) -> Iterator[str]:
    """A progress bar on a terminal; a log line every tenth of the work otherwise (logs are read line by line)."""
    for done, video_id in enumerate(outcomes, start=1):
        progress.update()
        if progress.disable and (done % report_every == 0 or done == progress.total):
            log.info("extracted %d/%d videos", done, progress.total)
        yield video_id


_DETECTOR: FaceDetector | None = None
_PROBER: Prober | None = None


def _init_worker(min_score: float) -> None:
    global _DETECTOR, _PROBER
    if _DETECTOR is None:
        _DETECTOR = FaceDetector(min_score=min_score)
    if _PROBER is None:
        _PROBER = Prober()


def _work(record: VideoRecord, root: Path, output: Path, settings: ExtractionSettings) -> str:
    """Extracts one video into its part file; returns only its id (results stay on disk, not in the queue)."""
    assert _DETECTOR is not None and _PROBER is not None
    try:
        video = safe_relative_path(root, record.path)
        resolve_inside(root, video)  # the manifest may come from elsewhere: the same rule as ingest-videos
    except ValueError as exc:
        result = VideoResult(video_id=record.id, path=record.path, rejected=str(exc))
    else:
        result = extract_video(record, video, output, settings, _DETECTOR, _PROBER)
    save_result(output, result)
    return record.id


def _remove_packed(output: Path, manifest: Path) -> None:
    """The loose crops the manifest's shards hold (the manifest is read as it goes: a host may have millions)."""
    members = (face.image.partition(MEMBER_SEPARATOR)[2] for face in iter_jsonl(manifest, FaceRecord))
    remove_loose(output, (member for member in members if member))


def _load_part(output: Path, video_id: str) -> VideoResult:
    return VideoResult.model_validate_json(part_path(output, video_id).read_text())


def _write_dataset(output: Path, share: list[Listed], ctx: RunContext, elapsed: float, shard_size: int) -> None:
    """The host's manifests, streamed from the part files one video at a time in share order (and its crops packed
    into shards as they go, with `shard_size`)."""
    suffix = "" if ctx.num_hosts == 1 else f"-{ctx.current_host}"
    sampled, reasons = 0, list[str]()
    shards = ShardWriter(output, ctx.current_host, shard_size) if shard_size else None
    with (
        JsonlWriter(output / f"faces{suffix}.jsonl") as faces,
        JsonlWriter(output / f"rejected{suffix}.jsonl") as bad,
        shards or nullcontext(),
    ):
        for video in share:
            result = _load_part(output, video.id)
            sampled += result.frames_sampled
            for face in result.faces:
                faces.row(shards.add(face) if shards else face)
            if result.rejected:
                bad.row(RejectedVideo(path=result.path, reason=result.rejected))
                if len(reasons) < REASONS_SHOWN:
                    reasons.append(f"{result.path}: {result.rejected}")
    summary = {
        "host": ctx.current_host,
        "hosts": ctx.num_hosts,
        "total": len(share),
        "processed": len(share) - bad.count,
        "rejected": bad.count,
        "faces": faces.count,
        "frames_sampled": sampled,
        "face_rate": round(faces.count / sampled, 4) if sampled else 0.0,
    }
    # Outputs are a function of the inputs only (the step cache hashes them); the time goes to the log and the run
    # record, never into summary.json.
    if shards:
        summary["shards"] = shards.shards
    write_json(output / f"summary{suffix}.json", summary)
    if shards:
        _remove_packed(output, output / f"faces{suffix}.jsonl")
    log.info("faces: %s in %.2f s", summary, elapsed)
    if share and not faces.count:
        first = "; ".join(reasons)
        raise ValueError(f"no face found in any of the {len(share)} videos of this share; first reasons: {first}")


COMPONENT = Component(
    name="extract-faces",
    version="2.4.0",
    kind=ComponentKind.PROCESSING,
    image="deepfake/extract-faces",
    description=__doc__.split("\n")[0],
    params=Params,
    run=run,
    entry_module="deepfake.components.extract_faces",
    inputs={
        "manifest": InputSpec(type=VIDEO_MANIFEST, description="The videos to process (ingest-videos' output)."),
        "videos": InputSpec(type=VIDEO_FOLDER, description="The dataset root the manifest's paths are relative to."),
    },
    outputs={"faces": OutputSpec(type=FACE_DATASET, description="Face crops, faces.jsonl, rejected.jsonl.")},
)
