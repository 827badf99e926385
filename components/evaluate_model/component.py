"""Scores a split's faces with a trained model, aggregates them per video and reports model-quality metrics.

evaluation.json follows SageMaker Model Monitor's model-quality report (`binary_classification_metrics`) at video
level, which is what the quality gate and the model registry read, since a verdict is given per video. The same
metrics at frame level sit beside it, to tell a weak face classifier from a weak aggregation; then each manipulation
method, each perturbed copy of the split (the robustness sweep) and each extra test set, and a `summary` of the
worst of them for the gate (sets.py).
"""

import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from deepfake.components import Component, ComponentKind, InputSpec, OutputSpec, RunContext
from deepfake.components.classifier.crops import locate_crops, open_model, score_crops
from deepfake.components.classifier.model import MODEL_ARTIFACT, Aggregation, ModelConfig
from deepfake.components.classifier.scoring import verdict_label, video_probabilities
from deepfake.components.evaluate_model.metrics import (
    MIN_BOOTSTRAP_SAMPLES,
    binary_classification_metrics,
    class_counts,
)
from deepfake.components.evaluate_model.report import (
    CONFUSION_IMAGE,
    REPORT_FILE,
    ROBUSTNESS_IMAGE,
    ROC_IMAGE,
    plot_confusion,
    plot_robustness,
    plot_roc,
    write_report,
)
from deepfake.components.evaluate_model.sets import VideoScore, by_method, set_metrics, summary
from deepfake.components.face_table import UNLABELED, FaceTable, SplitFaces
from deepfake.components.manifests import (
    DATASET_SPLITS,
    EVALUATION_REPORT,
    FACE_DATASET,
    LABEL_NAMES,
    Label,
    LabelledFace,
    Split,
    write_json,
)

log = logging.getLogger(__name__)
EVALUATION_FILE = "evaluation.json"
PREDICTIONS_FILE = "predictions.jsonl"


class EvaluationError(ValueError):
    """The inputs cannot be evaluated as given; the message names the input and what to change."""


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    split: Split = Field("test", description="Which split of the DatasetSplits to score: test, validation or train.")
    aggregation: Aggregation | None = Field(
        None,
        description="How a video's face probabilities become one (mean, median, max, top_quartile_mean); null uses"
        " the model's own, from model.json, as serving does.",
    )
    threshold: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="A video (a face, at frame level) is FAKE at or above this; null uses the model's own.",
    )
    batch_size: int = Field(64, ge=1, le=4096, description="Faces scored per forward pass.")
    bootstrap_samples: int = Field(
        200, ge=0, le=10_000, description="Bootstrap resamples for each metric's standard deviation; 0 disables."
    )
    seed: int = Field(0, ge=0, description="Seed of the bootstrap: the same seed and scores give the same deviations.")
    extra_test_name: str = Field(
        "extra",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="The name the extra_test input's set is reported under (a dataset's name, say celeb-df).",
    )

    @field_validator("bootstrap_samples")
    @classmethod
    def _enough_for_a_deviation(cls, samples: int) -> int:
        if 0 < samples < MIN_BOOTSTRAP_SAMPLES:
            raise ValueError(f"set 0 to turn the bootstrap off, or at least {MIN_BOOTSTRAP_SAMPLES} resamples")
        return samples


def run(params: Params, ctx: RunContext) -> None:
    rows = read_split(ctx.inputs["splits"], params.split)
    sets = {name: labelled(ctx.inputs[name], name) for name in ("perturbed", "extra_test") if name in ctx.inputs}
    crops = locate_crops(ctx.inputs["faces"], rows.images, f"{params.split}.jsonl")
    other_crops = {name: locate_crops(ctx.inputs[name], found.images, name) for name, found in sets.items()}
    network, config = open_model(ctx.inputs["model"])
    aggregation = params.aggregation or config.aggregation
    threshold = config.threshold if params.threshold is None else params.threshold
    log.info(
        "scoring %d faces of %d videos (%s split) with model %s; %s aggregation, threshold %g",
        len(rows),
        len(set(rows.video_ids())),
        params.split,
        config.version,
        aggregation,
        threshold,
    )
    probabilities = score_crops(network, config, crops, rows.images, params.batch_size)
    videos = score_videos(rows, probabilities, aggregation)
    document = evaluation_document(rows, probabilities, videos, params, config, aggregation, threshold)
    for name, found in sets.items():
        probabilities_found = score_crops(network, config, other_crops[name], found.images, params.batch_size)
        scored = score_videos(found, probabilities_found, aggregation)
        if name == "perturbed":
            applied = {row.video_id: str(row.perturbation) for row in found}
            document["robustness"] = robustness(scored, applied, document, threshold, params)
        else:
            document["extra_test"] = {params.extra_test_name: _with_methods(scored, threshold, params)}
    summarise(document)
    output = ctx.outputs["evaluation"]
    write_json(output / EVALUATION_FILE, document)
    write_predictions(output / PREDICTIONS_FILE, videos, threshold)
    video_metrics = document["binary_classification_metrics"]
    frame_metrics = document["frame_level"]["binary_classification_metrics"]
    plot_roc(output / ROC_IMAGE, {"video": video_metrics, "frame": frame_metrics})
    plot_confusion(output / CONFUSION_IMAGE, video_metrics["confusion_matrix"], f"{params.split} split, video level")
    if "robustness" in document or "extra_test" in document:
        plot_robustness(output / ROBUSTNESS_IMAGE, {"test": _headline(document), **_other_sets(document)})
    write_report(output / REPORT_FILE, document)
    log.info(
        "video level: AUC %.4f, accuracy %.4f; frame level: AUC %.4f, accuracy %.4f; worst AUC %.4f (%s)",
        video_metrics["auc"]["value"],
        video_metrics["accuracy"]["value"],
        frame_metrics["auc"]["value"],
        frame_metrics["accuracy"]["value"],
        document["summary"]["worst_auc"],
        document["summary"]["worst_auc_set"],
    )


def labelled(folder: Path, name: str) -> SplitFaces:
    """A FaceDataset input scored beside the split: every face must carry its video's label."""
    rows = FaceTable.read_dataset(folder)
    unlabeled = sorted({rows.video_id(index) for index in np.flatnonzero(rows.labels == UNLABELED).tolist()})
    if unlabeled:
        raise EvaluationError(
            f"input '{name}' holds {len(unlabeled)} unlabeled video(s) (first: {unlabeled[0]}): a test set needs"
            f" labels; score unlabeled videos with the batch-scoring pipeline"
        )
    if not len(rows):
        raise EvaluationError(f"input '{name}' holds no faces: extract-faces found none in its videos")
    if name == "perturbed" and (original := next((video for video in rows.videos if video[4] is None), None)):
        raise EvaluationError(
            f"input 'perturbed' holds faces of an original video ({original[0]}, no perturbation): pass"
            f" extract-faces' output on perturb-videos' manifest"
        )
    return FaceTable(LabelledFace, rows.videos, rows.columns, rows.images)


def robustness(
    videos: Sequence[VideoScore], applied: Mapping[str, str], document: dict[str, Any], threshold: float, params: Params
) -> dict[str, Any]:
    """Each perturbation's set (`applied`: video id → perturbation), with its AUC's drop from the clean split's."""
    clean = document["binary_classification_metrics"]["auc"]["value"]
    by_perturbation: dict[str, list[VideoScore]] = {}
    for video in videos:
        by_perturbation.setdefault(applied[video.video_id], []).append(video)
    found = {}
    for name, members in sorted(by_perturbation.items()):
        metrics = set_metrics(members, threshold, params.bootstrap_samples, params.seed)
        if metrics["measurable"]:
            metrics["auc_drop"] = clean - metrics["auc"]["value"]
        found[name] = metrics
    return found


def _with_methods(videos: Sequence[VideoScore], threshold: float, params: Params) -> dict[str, Any]:
    metrics = set_metrics(videos, threshold, params.bootstrap_samples, params.seed)
    return {**metrics, "by_method": by_method(videos, threshold, params.bootstrap_samples, params.seed)}


def summarise(document: dict[str, Any]) -> None:
    """The gate's `summary`, over every set the document holds so far."""
    document["summary"] = summary(_headline(document), _other_sets(document))


def _headline(document: dict[str, Any]) -> dict[str, Any]:
    metrics = document["binary_classification_metrics"]
    return {"videos": document["evaluation"]["videos"], "auc": metrics["auc"], "accuracy": metrics["accuracy"]}


def _other_sets(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {**document.get("robustness", {}), **document.get("extra_test", {})}


def read_split(folder: Path, split: Split) -> SplitFaces:
    """The split's faces (held as columns: a DFDC test split is ~600 000 faces), refused before any scoring when
    they cannot give a ROC AUC."""
    path = folder / f"{split}.jsonl"
    rows = FaceTable.read(path)
    if not len(rows):
        raise EvaluationError(
            f"split '{split}' is empty: {path.name} in input 'splits' holds no faces; evaluate another split (param"
            f" 'split') or re-run split-dataset with more videos"
        )
    videos = _video_labels(rows)
    video_counts = class_counts(list(videos.values()))
    face_counts = class_counts(rows.labels.tolist())
    if min(video_counts.values()) == 0:
        raise EvaluationError(
            f"split '{split}' holds one class only (videos: REAL {video_counts[0]}, FAKE {video_counts[1]}; faces:"
            f" REAL {face_counts[0]}, FAKE {face_counts[1]}): ROC AUC needs both REAL and FAKE videos; evaluate"
            f" another split (param 'split') or re-run split-dataset so each split gets both labels"
        )
    return rows


def score_videos(rows: Sequence[LabelledFace], probabilities: np.ndarray, aggregation: Aggregation) -> list[VideoScore]:
    """One probability_fake a video, aggregated from its faces (person by person) exactly as serving does it."""
    labels = _video_labels(rows)
    methods = {row.video_id: row.method for row in rows}
    return [
        VideoScore(video, labels[video], probability, len(scored), methods[video])
        for video, (probability, scored) in video_probabilities(rows, probabilities, aggregation).items()
    ]


def evaluation_document(
    rows: Sequence[LabelledFace],
    probabilities: np.ndarray,
    videos: Sequence[VideoScore],
    params: Params,
    config: ModelConfig,
    aggregation: Aggregation,
    threshold: float,
) -> dict[str, Any]:
    def metrics(labels: list[int], scores: Sequence[float] | np.ndarray) -> dict[str, Any]:
        return binary_classification_metrics(labels, scores, threshold, params.bootstrap_samples, params.seed)

    video_counts = Counter(video.label for video in videos)
    face_counts = Counter(row.label for row in rows)
    document = {
        "binary_classification_metrics": metrics(
            [video.label for video in videos], [video.probability_fake for video in videos]
        ),
        "by_method": by_method(videos, threshold, params.bootstrap_samples, params.seed),
        "frame_level": {"binary_classification_metrics": metrics([row.label for row in rows], probabilities)},
        "evaluation": {
            "split": params.split,
            "aggregation": aggregation,
            "threshold": threshold,
            "model_version": config.version,
            "architecture": config.architecture,
            "bootstrap_samples": params.bootstrap_samples,
            "seed": params.seed,
            "videos": {name: video_counts[label] for label, name in LABEL_NAMES.items()},
            "faces": {name: face_counts[label] for label, name in LABEL_NAMES.items()},
        },
    }
    summarise(document)
    return document


def write_predictions(path: Path, videos: Sequence[VideoScore], threshold: float) -> None:
    """One row a video with its verdict, for finding the videos the model gets wrong."""
    with path.open("w") as handle:
        for video in videos:
            verdict = verdict_label(video.probability_fake, threshold)
            handle.write(json.dumps({**asdict(video), "predicted": verdict}) + "\n")


def _video_labels(rows: Sequence[LabelledFace]) -> dict[str, Label]:
    labels: dict[str, Label] = {}
    for row in rows:
        known = labels.setdefault(row.video_id, row.label)
        if known != row.label:
            raise EvaluationError(
                f"video '{row.video_id}' has faces labelled both {LABEL_NAMES[known]} and {LABEL_NAMES[row.label]};"
                f" every face of a video must carry its video's label: rebuild the FaceDataset and the splits"
            )
    return labels


COMPONENT = Component(
    name="evaluate-model",
    version="1.4.2",
    kind=ComponentKind.PROCESSING,
    image="deepfake/evaluate-model",
    description=__doc__.splitlines()[0],
    params=Params,
    run=run,
    entry_module="deepfake.components.evaluate_model",
    inputs={
        "model": InputSpec(type=MODEL_ARTIFACT, description="The trained model: model.tar.gz, or its unpacked folder."),
        "faces": InputSpec(type=FACE_DATASET, description="The face crops the splits' image paths point into."),
        "splits": InputSpec(type=DATASET_SPLITS, description="train/validation/test.jsonl; param 'split' picks one."),
        "perturbed": InputSpec(
            type=FACE_DATASET,
            optional=True,
            description="Faces of perturb-videos' copies of the split's videos: the robustness sweep.",
        ),
        "extra_test": InputSpec(
            type=FACE_DATASET,
            optional=True,
            description="Faces of another labelled dataset, reported as its own set (param extra_test_name).",
        ),
    },
    outputs={
        "evaluation": OutputSpec(
            type=EVALUATION_REPORT,
            description=f"{EVALUATION_FILE} (SageMaker model-quality metrics, video level, plus frame_level,"
            f" by_method, robustness, extra_test and summary), {ROC_IMAGE}, {CONFUSION_IMAGE}, {ROBUSTNESS_IMAGE}"
            f" (with a sweep or extra set), {REPORT_FILE}, {PREDICTIONS_FILE}",
        )
    },
)
