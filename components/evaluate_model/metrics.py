"""Binary classification metrics in SageMaker Model Monitor's model-quality shape, as pure functions.

Labels are 0 (REAL) and 1 (FAKE); probabilities are probability_fake. The same functions serve video level (one
aggregated probability a video) and frame level (one a face), so both sections of evaluation.json agree in meaning.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    confusion_matrix,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)

SCALAR_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "auc",
    "average_precision",
    "equal_error_rate",
    "expected_calibration_error",
    "precision",
    "recall",
    "f1",
    "log_loss",
    "true_positive_rate",
    "true_negative_rate",
    "false_positive_rate",
    "false_negative_rate",
)
CLASSES = (0, 1)
MIN_BOOTSTRAP_SAMPLES = 2
CALIBRATION_BINS = 10


class MetricsError(ValueError):
    """The labels and probabilities cannot be scored as asked."""


def class_counts(labels: Sequence[int] | np.ndarray) -> dict[int, int]:
    values = np.asarray(labels)
    return {label: int((values == label).sum()) for label in CLASSES}


def predict_labels(probabilities: Sequence[float] | np.ndarray, threshold: float) -> np.ndarray:
    """FAKE at or above the threshold, as serving decides."""
    return (np.asarray(probabilities, dtype=np.float64) >= threshold).astype(np.int64)


def scalar_metrics(
    labels: Sequence[int] | np.ndarray, probabilities: Sequence[float] | np.ndarray, threshold: float
) -> dict[str, float]:
    """Every metric that has a value and a standard deviation; FAKE (1) is the positive class."""
    truth, scores = _checked(labels, probabilities)
    predicted = predict_labels(scores, threshold)
    precision, recall, f1, _ = precision_recall_fscore_support(
        truth, predicted, average="binary", pos_label=1, zero_division=0
    )
    (true_negatives, false_positives), (false_negatives, true_positives) = confusion_matrix(
        truth, predicted, labels=list(CLASSES)
    )
    positives, negatives = true_positives + false_negatives, true_negatives + false_positives
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "balanced_accuracy": float(balanced_accuracy_score(truth, predicted)),
        "auc": float(roc_auc_score(truth, scores)),
        "average_precision": float(average_precision_score(truth, scores, pos_label=1)),
        "equal_error_rate": equal_error_rate(truth, scores),
        "expected_calibration_error": expected_calibration_error(truth, scores),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "log_loss": float(log_loss(truth, scores, labels=list(CLASSES))),
        "true_positive_rate": float(true_positives / positives),
        "true_negative_rate": float(true_negatives / negatives),
        "false_positive_rate": float(false_positives / negatives),
        "false_negative_rate": float(false_negatives / positives),
    }


def equal_error_rate(labels: Sequence[int] | np.ndarray, probabilities: Sequence[float] | np.ndarray) -> float:
    """Where the false positive rate equals the false negative rate along the ROC curve, interpolated linearly
    between the two operating points that straddle it (the usual deepfake-detection figure, lower is better)."""
    truth, scores = _checked(labels, probabilities)
    false_positive, true_positive, _ = roc_curve(truth, scores, pos_label=1)
    gap = (1 - true_positive) - false_positive  # falls from 1 to -1 along the curve
    after = int(np.argmax(gap <= 0))
    if after == 0 or gap[after] == 0:
        return float(false_positive[after])
    before = after - 1
    share = gap[before] / (gap[before] - gap[after])
    return float(false_positive[before] + share * (false_positive[after] - false_positive[before]))


def expected_calibration_error(
    labels: Sequence[int] | np.ndarray, probabilities: Sequence[float] | np.ndarray, bins: int = CALIBRATION_BINS
) -> float:
    """How far probability_fake is from the share of fakes at that probability: the gap between the mean
    probability and the fraction of FAKE in each of `bins` equal-width bins, weighted by the bin's size."""
    truth, scores = _checked(labels, probabilities)
    edges = np.minimum((scores * bins).astype(np.int64), bins - 1)  # 1.0 falls into the last bin
    total = 0.0
    for index in np.unique(edges):
        members = edges == index
        total += members.sum() * abs(scores[members].mean() - truth[members].mean())
    return float(total / scores.size)


def confusion(
    labels: Sequence[int] | np.ndarray, probabilities: Sequence[float] | np.ndarray, threshold: float
) -> dict[str, dict[str, int]]:
    """SageMaker's layout: actual label → predicted label → count, keys as strings."""
    truth, scores = _checked(labels, probabilities)
    matrix = confusion_matrix(truth, predict_labels(scores, threshold), labels=list(CLASSES))
    return {
        str(actual): {str(predicted): int(matrix[actual, predicted]) for predicted in CLASSES} for actual in CLASSES
    }


def roc_points(
    labels: Sequence[int] | np.ndarray, probabilities: Sequence[float] | np.ndarray
) -> dict[str, list[float]]:
    truth, scores = _checked(labels, probabilities)
    false_positive_rates, true_positive_rates, _ = roc_curve(truth, scores, pos_label=1)
    return {
        "false_positive_rates": [float(rate) for rate in false_positive_rates],
        "true_positive_rates": [float(rate) for rate in true_positive_rates],
    }


def bootstrap_standard_deviations(
    labels: Sequence[int] | np.ndarray,
    probabilities: Sequence[float] | np.ndarray,
    threshold: float,
    samples: int,
    seed: int,
) -> dict[str, float]:
    """Standard deviation of each scalar metric over `samples` bootstrap resamples; 0 when `samples` is 0.

    Resampling is stratified (with replacement within each class), so every draw keeps the split's class balance and
    AUC stays defined; a plain resample of a small split would often draw one class only.
    """
    truth, scores = _checked(labels, probabilities)
    if samples == 0:
        return dict.fromkeys(SCALAR_METRICS, 0.0)
    if samples < MIN_BOOTSTRAP_SAMPLES:
        raise MetricsError(
            f"bootstrap samples must be 0 (off) or at least {MIN_BOOTSTRAP_SAMPLES} for a standard deviation;"
            f" got {samples}"
        )
    generator = np.random.default_rng(seed)
    members = [np.flatnonzero(truth == label) for label in CLASSES]
    draws: dict[str, list[float]] = {name: [] for name in SCALAR_METRICS}
    for _ in range(samples):
        chosen = np.concatenate([generator.choice(indices, size=indices.size, replace=True) for indices in members])
        for name, value in scalar_metrics(truth[chosen], scores[chosen], threshold).items():
            draws[name].append(value)
    return {name: float(np.std(values, ddof=1)) for name, values in draws.items()}


def binary_classification_metrics(
    labels: Sequence[int] | np.ndarray,
    probabilities: Sequence[float] | np.ndarray,
    threshold: float,
    bootstrap_samples: int,
    seed: int,
) -> dict[str, Any]:
    """The `binary_classification_metrics` object of a SageMaker model-quality report."""
    values = scalar_metrics(labels, probabilities, threshold)
    deviations = bootstrap_standard_deviations(labels, probabilities, threshold, bootstrap_samples, seed)
    document: dict[str, Any] = {
        name: {"value": values[name], "standard_deviation": deviations[name]} for name in SCALAR_METRICS
    }
    document["confusion_matrix"] = confusion(labels, probabilities, threshold)
    document["receiver_operating_characteristic_curve"] = roc_points(labels, probabilities)
    return document


def _checked(
    labels: Sequence[int] | np.ndarray, probabilities: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(probabilities, dtype=np.float64)
    if truth.ndim != 1 or truth.shape != scores.shape:
        raise MetricsError(f"labels {truth.shape} and probabilities {scores.shape} must be two equal-length lists")
    if not np.isin(truth, CLASSES).all():
        raise MetricsError(f"labels must be 0 (REAL) or 1 (FAKE); got {sorted(set(truth.tolist()) - set(CLASSES))}")
    if not np.isfinite(scores).all() or (scores < 0).any() or (scores > 1).any():
        raise MetricsError("probabilities must be finite and within [0, 1]")
    counts = class_counts(truth)
    if min(counts.values()) == 0:
        raise MetricsError(
            f"both classes are needed (AUC is undefined with one); got REAL {counts[0]}, FAKE {counts[1]}"
        )
    return truth, scores
