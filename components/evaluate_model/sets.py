"""The evaluation beyond one split: each manipulation method, each perturbation, each extra test set, and the worst.

A detector is judged by where it is weakest: a method it misses, a re-encode that blinds it, a dataset it never saw.
Each set is scored by the same aggregation and threshold as the test split; `summary` holds what a quality gate
reads (JsonGet): the worst AUC over every measurable set and the smaller class's video count of the test split.
"""

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from deepfake.components.evaluate_model.metrics import binary_classification_metrics, predict_labels
from deepfake.components.manifests import LABEL_NAMES, Label

log = logging.getLogger(__name__)
UNNAMED_METHOD = "(not named)"
SET_METRICS = ("auc", "accuracy", "balanced_accuracy", "equal_error_rate")


@dataclass(frozen=True)
class VideoScore:
    video_id: str
    label: Label
    probability_fake: float
    faces: int
    method: str | None = None


def set_metrics(videos: Sequence[VideoScore], threshold: float, bootstrap: int, seed: int) -> dict[str, Any]:
    """A set's headline metrics (value and bootstrap deviation); a set of one class has no AUC: `measurable` false."""
    counts = Counter(video.label for video in videos)
    document: dict[str, Any] = {"videos": {name: counts[label] for label, name in LABEL_NAMES.items()}}
    if min(counts[0], counts[1]) == 0:
        return {**document, "measurable": False}
    metrics = binary_classification_metrics(
        [video.label for video in videos], [video.probability_fake for video in videos], threshold, bootstrap, seed
    )
    return {**document, "measurable": True, **{name: metrics[name] for name in SET_METRICS}}


def by_method(videos: Sequence[VideoScore], threshold: float, bootstrap: int, seed: int) -> dict[str, Any]:
    """Each method's fakes against every real video of the set (FaceForensics++'s per-method protocol), with the
    share of its fakes caught; empty when no fake names a method (DFDC)."""
    fakes = [video for video in videos if video.label == 1]
    if not any(video.method for video in fakes):
        return {}
    reals = [video for video in videos if video.label == 0]
    methods = sorted({video.method or UNNAMED_METHOD for video in fakes})
    document = {}
    for method in methods:
        chosen = [video for video in fakes if (video.method or UNNAMED_METHOD) == method]
        caught = predict_labels([video.probability_fake for video in chosen], threshold)
        document[method] = {
            **set_metrics([*reals, *chosen], threshold, bootstrap, seed),
            "recall": float(caught.mean()),
        }
    return document


def summary(test: Mapping[str, Any], others: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """What the gate reads. Sets of one class (every face of one label lost to a perturbation) are left out of the
    worst AUC and named, so the report shows them rather than the gate silently passing on them."""
    candidates = {"test": test, **others}
    measurable = {name: found for name, found in candidates.items() if found.get("measurable", True)}
    worst = min(measurable, key=lambda name: measurable[name]["auc"]["value"])
    skipped = sorted(set(candidates) - set(measurable))
    if skipped:
        log.warning("left out of the worst AUC (one class only): %s", ", ".join(skipped))
    return {
        "worst_auc": measurable[worst]["auc"]["value"],
        "worst_auc_set": worst,
        "worst_accuracy": min(found["accuracy"]["value"] for found in measurable.values()),
        "smallest_class_videos": min(test["videos"].values()),
        "unmeasurable_sets": skipped,
    }
