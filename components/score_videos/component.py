"""Scores a batch of videos with a trained model: a REAL/FAKE verdict a video, unscorable videos listed with why.

The faces are scored as evaluate-model scores them and aggregated per video as serving aggregates them, with the
model's own threshold and aggregation (from model.json) unless the params override them. A video with too few
faces gets no guess: it is UNSCORABLE, with extract-faces' reason.
"""

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from deepfake.components import Component, ComponentKind, InputSpec, OutputSpec, RunContext
from deepfake.components.artifacts import JSON_REPORT
from deepfake.components.classifier.crops import locate_crops, open_model, score_crops
from deepfake.components.classifier.model import MODEL_ARTIFACT, Aggregation, ModelConfig
from deepfake.components.classifier.scoring import face_score, score_people, verdict_label
from deepfake.components.face_table import FaceTable
from deepfake.components.manifests import (
    FACE_DATASET,
    VIDEO_MANIFEST,
    FaceRecord,
    RejectedVideo,
    VideoRecord,
    iter_jsonl,
    read_jsonl,
)
from deepfake.components.score_videos.report import SUMMARY_FILE, Tally, summary_document, write_summary
from deepfake.components.score_videos.verdicts import UNSCORABLE, VIDEO_VERDICTS, Verdict, write_verdicts

log = logging.getLogger(__name__)


class ScoringError(ValueError):
    """The inputs cannot be scored as given; the message names the input and what to change."""


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aggregation: Aggregation | None = Field(
        None,
        description="How a video's face probabilities become one (mean, median, max, top_quartile_mean); null uses"
        " the model's own, from model.json, as serving does.",
    )
    threshold: float | None = Field(
        None, gt=0, lt=1, description="A video is FAKE at or above this probability_fake; null uses the model's own."
    )
    min_faces: int = Field(
        1, ge=1, le=600, description="A video with fewer faces found is UNSCORABLE rather than judged on too little."
    )
    batch_size: int = Field(64, ge=1, le=4096, description="Faces scored per forward pass.")


def run(params: Params, ctx: RunContext) -> None:
    manifest, faces_dir = ctx.inputs["manifest"], ctx.inputs["faces"]
    # (id, path) alone, sorted: a DFDC-sized manifest's full records would be most of the stage's memory.
    videos = sorted((video.id, video.path) for video in iter_jsonl(manifest / "videos.jsonl", VideoRecord))
    not_ingested = read_jsonl(manifest / "rejected.jsonl", RejectedVideo)
    faces = FaceTable.read_dataset(faces_dir)
    check_faces_belong(videos, faces)
    crops = locate_crops(faces_dir, faces.images, "faces.jsonl")
    network, config = open_model(ctx.inputs["model"])
    if len(faces):
        with crops.open(faces.images[0]) as first:
            check_face_size(first, config)
    aggregation = params.aggregation or config.aggregation
    threshold = config.threshold if params.threshold is None else params.threshold
    log.info(
        "scoring %d faces of %d videos with model %s; %s aggregation, threshold %g, at least %d face(s) a video",
        len(faces),
        len(videos),
        config.version,
        aggregation,
        threshold,
        params.min_faces,
    )
    probabilities = score_crops(network, config, crops, faces.images, params.batch_size)
    reasons = extraction_reasons(faces_dir)
    verdicts = judge(videos, faces, probabilities, reasons, aggregation, threshold, params.min_faces)
    tally = Tally()
    write_verdicts(ctx.outputs["verdicts"], tally.counted(verdicts))
    settings = {"aggregation": aggregation, "threshold": threshold, "min_faces": params.min_faces}
    document = summary_document(tally, not_ingested, config, settings)
    write_summary(ctx.outputs["summary"], document, tally, not_ingested)
    log.info("verdicts: %s; %d file(s) not ingested", document["counts"], len(not_ingested))


def check_faces_belong(videos: Sequence[tuple[str, str]], faces: FaceTable[FaceRecord]) -> None:
    """Faces of videos the manifest does not list mean the two inputs come from different runs."""
    unknown = sorted({video_id for video_id, *_ in faces.videos} - {video_id for video_id, _ in videos})
    if unknown:
        raise ScoringError(
            f"input 'faces' holds faces of {len(unknown)} video(s) that input 'manifest' does not list (first:"
            f" '{unknown[0]}'): pass the VideoManifest the FaceDataset was extracted from"
        )


def check_face_size(crop: BinaryIO, config: ModelConfig) -> None:
    """Crops of another size would be resized, so the model would see faces framed unlike those it learnt on."""
    with Image.open(crop) as image:
        size = image.size
    if size != (config.image_size, config.image_size):
        raise ScoringError(
            f"the face crops are {size[0]}x{size[1]} px but model {config.version} takes {config.image_size} px"
            f" faces (model.json image_size): extract the faces with face_size {config.image_size} (pipeline"
            f" parameter FaceSize={config.image_size})"
        )


def extraction_reasons(faces_dir: Path) -> dict[str, str]:
    """Video path → why extract-faces found no face in it, from every host's rejected file."""
    return {
        row.path: row.reason
        for path in sorted(faces_dir.glob("rejected*.jsonl"))
        for row in read_jsonl(path, RejectedVideo)
    }


def judge(
    videos: Iterable[tuple[str, str]],
    faces: FaceTable[FaceRecord],
    probabilities: np.ndarray,
    reasons: Mapping[str, str],
    aggregation: Aggregation,
    threshold: float,
    min_faces: int,
) -> Iterator[Verdict]:
    """One verdict a manifest video (id, path), in their order; the label is decided on the unrounded probability.
    A video's faces become scores, and its verdict is made, only as it is written: a DFDC-sized batch has millions
    of faces."""
    ranges = video_ranges(faces)
    for video_id, path in videos:
        start, end = ranges.get(video_id, (0, 0))
        found = [face_score(faces[index], probabilities[index]) for index in range(start, end)]
        common = {"video_id": video_id, "path": path, "aggregation": aggregation, "threshold": threshold}
        if len(found) >= min_faces:
            probability, people = score_people(found, aggregation, threshold)
            yield Verdict(
                **common,
                label=verdict_label(probability, threshold),
                probability_fake=round(probability, 6),
                faces_scored=len(found),
                people=len(people),
                suspect_track=people[0].track,
                tracks=people,
            )
            continue
        if found:
            reason = f"{len(found)} face(s) found, fewer than min_faces {min_faces}"
        else:
            reason = reasons.get(path, "no faces in input 'faces': extract-faces did not process this video")
        yield Verdict(**common, label=UNSCORABLE, probability_fake=None, faces_scored=len(found), reason=reason)


def video_ranges(faces: FaceTable[FaceRecord]) -> dict[str, tuple[int, int]]:
    """Each video's rows (start, end): a FaceDataset as read holds a video's faces together."""
    codes = faces.columns["video"]
    starts = np.flatnonzero(np.diff(codes, prepend=-1)).tolist()
    ends = [*starts[1:], len(codes)][: len(starts)]
    ranges = {faces.video_id(start): (start, end) for start, end in zip(starts, ends, strict=True)}
    if len(ranges) != len(starts):
        raise ValueError("a video's faces are not together: read the FaceDataset with FaceTable.read_dataset")
    return ranges


COMPONENT = Component(
    name="score-videos",
    version="2.1.4",
    kind=ComponentKind.PROCESSING,
    image="deepfake/score-videos",
    description=__doc__.splitlines()[0],
    params=Params,
    run=run,
    entry_module="deepfake.components.score_videos",
    inputs={
        "model": InputSpec(type=MODEL_ARTIFACT, description="The trained model: model.tar.gz, or its unpacked folder."),
        "manifest": InputSpec(
            type=VIDEO_MANIFEST, description="The videos asked for (ingest-videos' output): each gets a verdict."
        ),
        "faces": InputSpec(type=FACE_DATASET, description="Their faces (extract-faces' output), at the model's size."),
    },
    outputs={
        "verdicts": OutputSpec(type=VIDEO_VERDICTS, description="verdicts.jsonl and verdicts.csv, a row a video."),
        "summary": OutputSpec(
            type=JSON_REPORT,
            description=f"{SUMMARY_FILE} (counts REAL, FAKE, UNSCORABLE; fake_share; the model) and report.md.",
        ),
    },
)
