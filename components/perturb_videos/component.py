"""perturb-videos: the test videos as a sharing platform would hand them back (re-encoded, downscaled, blurred).

A robustness sweep scores these copies with the same face extraction and model as the originals: a detector that
only works on pristine uploads is no detector. Each copy is decoded and re-encoded frame by frame (bounded memory)
with PyAV's libx264, written atomically, and listed in a video manifest whose `perturbation` names what was done;
extract-faces reads that manifest like any other. A re-run skips the copies already written.
"""

import logging
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from deepfake.components import Component, ComponentKind, InputSpec, OutputSpec, RunContext
from deepfake.components.dataset_files import resolve_inside
from deepfake.components.faces.video import write_h264
from deepfake.components.manifests import (
    DATASET_SPLITS,
    VIDEO_FOLDER,
    VIDEO_MANIFEST,
    LabelledFace,
    RejectedVideo,
    Split,
    VideoRecord,
    iter_jsonl,
    read_jsonl,
    safe_relative_path,
    write_json,
    write_jsonl,
)
from deepfake.components.pools import QUEUED_PER_WORKER, bounded

log = logging.getLogger(__name__)
PerturbationName = Literal["crf23", "crf32", "crf40", "half", "blur"]
BLUR_SIGMA_AT_720P = 2.0  # pixels; the blur scales with the frame height, so it looks the same at any size


@dataclass(frozen=True)
class Perturbation:
    crf: int
    scale: float = 1.0
    blur: bool = False


PERTURBATIONS: dict[PerturbationName, Perturbation] = {
    "crf23": Perturbation(crf=23),
    "crf32": Perturbation(crf=32),
    "crf40": Perturbation(crf=40),
    "half": Perturbation(crf=23, scale=0.5),
    "blur": Perturbation(crf=23, blur=True),
}


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    perturbations: list[PerturbationName] = Field(
        ["crf23", "crf32", "crf40", "half", "blur"],
        min_length=1,
        description="What to do to each video: H.264 re-encodes at CRF 23/32/40 (x264's default is 23; platforms"
        " serve 28-40), half the width and height (CRF 23), or a Gaussian blur of sigma 2 px at 720p (CRF 23).",
    )
    split: Split = Field("test", description="With the splits input, perturb only this split's videos.")
    max_frames: int = Field(3_000, ge=1, description="Videos with more frames are rejected (decode-time guard).")
    max_frame_pixels: int = Field(
        3840 * 2160, ge=64 * 64, description="Videos with larger frames are rejected (memory and decode-time guard)."
    )
    workers: int | None = Field(None, ge=1, le=256, description="Worker processes; default: the machine's cores.")


@dataclass(frozen=True)
class Job:
    record: VideoRecord
    name: PerturbationName
    source: Path
    target: Path
    relative: str
    max_frames: int


def run(params: Params, ctx: RunContext) -> None:
    records = read_jsonl(ctx.inputs["manifest"] / "videos.jsonl", VideoRecord)
    if "splits" in ctx.inputs:
        chosen = {row.video_id for row in iter_jsonl(ctx.inputs["splits"] / f"{params.split}.jsonl", LabelledFace)}
        records = [record for record in records if record.id in chosen]
    root, output = ctx.inputs["videos"], ctx.outputs["videos"]
    jobs, rejected = plan(records, root, output, params)
    log.info("%d videos x %d perturbations: %d copies to write", len(records), len(params.perturbations), len(jobs))
    done: list[VideoRecord] = []
    for job, outcome in _perturb_all(jobs, params.workers or os.cpu_count() or 1):
        if isinstance(outcome, VideoRecord):
            done.append(outcome)
        else:
            rejected.append(RejectedVideo(path=job.relative, reason=outcome))
    manifest = ctx.outputs["manifest"]
    done.sort(key=lambda record: record.id)
    write_jsonl(manifest / "videos.jsonl", done)
    write_jsonl(manifest / "rejected.jsonl", rejected)
    write_json(manifest / "summary.json", {"videos": len(records), "written": len(done), "rejected": len(rejected)})
    if jobs and not done:
        reasons = "; ".join(f"{row.path}: {row.reason}" for row in rejected[:3])
        raise ValueError(f"no video could be perturbed; first reasons: {reasons}")


def plan(records: list[VideoRecord], root: Path, output: Path, params: Params) -> tuple[list[Job], list[RejectedVideo]]:
    """One job a (video, perturbation); what the limits refuse or the root does not hold is rejected up front."""
    jobs: list[Job] = []
    rejected: list[RejectedVideo] = []
    for record in records:
        try:
            source = safe_relative_path(root, record.path)
            resolve_inside(root, source)
        except ValueError as exc:
            rejected.append(RejectedVideo(path=record.path, reason=str(exc)))
            continue
        if record.frames > params.max_frames or record.width * record.height > params.max_frame_pixels:
            reason = (
                f"{record.frames} frames of {record.width}x{record.height} exceed max_frames {params.max_frames} or"
                f" max_frame_pixels {params.max_frame_pixels}; raise them to perturb it"
            )
            rejected.append(RejectedVideo(path=record.path, reason=reason))
            continue
        for name in params.perturbations:
            relative = f"{name}/{Path(record.path).with_suffix('.mp4').as_posix()}"
            jobs.append(Job(record, name, source, output / relative, relative, params.max_frames))
    return jobs, rejected


def perturb(job: Job) -> VideoRecord | str:
    """The copy's manifest row, or why it could not be made; a finished copy from an earlier run is kept."""
    perturbation = PERTURBATIONS[job.name]
    if not job.target.is_file():
        temporary = job.target.with_name(f".{job.target.name}.tmp.mp4")
        try:
            with av.open(str(job.source)) as container:
                frames = (_apply(frame, perturbation) for frame in _decoded(container, job.max_frames))
                write_h264(temporary, frames, fps=max(1, round(job.record.fps)), crf=perturbation.crf)
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            temporary.unlink(missing_ok=True)
            return f"{type(exc).__name__}: {exc}"
        temporary.replace(job.target)
    width, height = _size(job.record.width, job.record.height, perturbation.scale)
    return job.record.model_copy(
        update={
            "id": f"{job.name}/{job.record.id}",
            "path": job.relative,
            "perturbation": job.name,
            "width": width,
            "height": height,
        }
    )


def _decoded(container: av.container.InputContainer, max_frames: int) -> Iterator[np.ndarray]:
    """RGB frames one at a time; a stream longer than its probe said (a hostile file) stops at the limit."""
    for count, frame in enumerate(container.decode(video=0), start=1):
        if count > max_frames:
            raise ValueError(f"more than max_frames {max_frames} frames; raise max_frames to perturb it")
        yield frame.to_ndarray(format="rgb24")


def _apply(frame: np.ndarray, perturbation: Perturbation) -> np.ndarray:
    height, width = frame.shape[:2]
    if perturbation.scale != 1:
        frame = cv2.resize(frame, _size(width, height, perturbation.scale), interpolation=cv2.INTER_AREA)
    elif height % 2 or width % 2:
        frame = frame[: height - height % 2, : width - width % 2]
    if perturbation.blur:
        frame = cv2.GaussianBlur(frame, (0, 0), BLUR_SIGMA_AT_720P * frame.shape[0] / 720)
    return frame


def _size(width: int, height: int, scale: float) -> tuple[int, int]:
    """Even sides, as yuv420p H.264 needs."""
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _perturb_all(jobs: list[Job], workers: int) -> Iterator[tuple[Job, VideoRecord | str]]:
    for job in jobs:
        job.target.parent.mkdir(parents=True, exist_ok=True)
    if min(workers, len(jobs)) <= 1:
        yield from ((job, perturb(job)) for job in jobs)
        return
    workers = min(workers, len(jobs))
    with ProcessPoolExecutor(workers) as pool:
        for done, (job, outcome) in enumerate(bounded(pool, perturb, jobs, workers * QUEUED_PER_WORKER), start=1):
            if done % max(1, len(jobs) // 10) == 0:
                log.info("perturbed %d/%d", done, len(jobs))
            yield job, outcome


COMPONENT = Component(
    name="perturb-videos",
    version="1.0.2",
    kind=ComponentKind.PROCESSING,
    image="deepfake/perturb-videos",
    description=__doc__.split("\n")[0],
    params=Params,
    run=run,
    entry_module="deepfake.components.perturb_videos",
    inputs={
        "manifest": InputSpec(type=VIDEO_MANIFEST, description="The videos (ingest-videos' output)."),
        "videos": InputSpec(type=VIDEO_FOLDER, description="The dataset root the manifest's paths are relative to."),
        "splits": InputSpec(
            type=DATASET_SPLITS, optional=True, description="Perturb only the `split` param's videos (default: all)."
        ),
    },
    outputs={
        "manifest": OutputSpec(type=VIDEO_MANIFEST, description="videos.jsonl of the copies, rejected.jsonl."),
        "videos": OutputSpec(type=VIDEO_FOLDER, description="The copies, one folder a perturbation."),
    },
)
