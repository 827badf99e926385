"""Calibration on the validation split, after training: a temperature for the probabilities, then the threshold.

A network trained with a class-weighted loss on one dataset is rarely calibrated, and 0.5 rarely separates another
dataset's videos best. So the validation faces (never trained on) fix both, and model.json carries them to
evaluation, batch scoring and serving:
- the temperature T minimises the validation faces' log loss of sigmoid(logit / T) (temperature scaling, Guo et al.
  2017: one parameter, so the ranking and the AUC do not change);
- the threshold is the one of the best balanced accuracy over the validation videos (each video its most suspicious
  person, as evaluation scores it), placed midway between the two video probabilities around it, ties going to the
  threshold nearest 0.5. Balanced accuracy, because validation splits are rarely balanced and accuracy would favour
  the larger class.
"""

import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize_scalar

THRESHOLD_RULE = "best balanced accuracy over the validation videos, midway between video probabilities"
# At most 4x sharper: on a validation split the network separates perfectly the log loss falls without bound as T
# shrinks, and saturated probabilities would make every later mistake a confident one.
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.25, 20.0
THRESHOLD_LIMITS = (0.001, 0.999)


def fit_temperature(logits: Sequence[float], labels: Sequence[int]) -> float:
    """The T in [0.25, 20] that minimises the mean log loss of sigmoid(logit / T)."""
    values = np.asarray(logits, dtype=np.float64)
    truth = np.asarray(labels, dtype=np.float64)

    def loss(log_temperature: float) -> float:
        scaled = values / math.exp(log_temperature)
        # log(1 + e^x) - y x, computed stably: the binary cross-entropy of the logits
        return float(np.mean(np.logaddexp(0.0, scaled) - truth * scaled))

    found = minimize_scalar(
        loss, bounds=(math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE)), method="bounded", options={"xatol": 1e-4}
    )
    return round(math.exp(found.x), 4)


def choose_threshold(labels: Sequence[int], probabilities: Sequence[float]) -> tuple[float, float]:
    """The threshold of the best balanced accuracy on these videos, and that balanced accuracy."""
    truth = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(probabilities, dtype=np.float64)
    if not (truth == 0).any() or not (truth == 1).any():
        raise ValueError("calibrating a threshold needs REAL and FAKE validation videos")
    distinct = np.unique(scores)
    candidates = np.concatenate([[distinct[0] / 2], (distinct[:-1] + distinct[1:]) / 2, [(distinct[-1] + 1) / 2]])
    candidates = np.clip(candidates, *THRESHOLD_LIMITS)
    best: tuple[float, float, float] | None = None  # (balanced accuracy, -distance to 0.5, threshold)
    for threshold in candidates:
        predicted = scores >= threshold
        balanced = (predicted[truth == 1].mean() + (~predicted[truth == 0]).mean()) / 2
        key = (float(balanced), -abs(float(threshold) - 0.5), float(threshold))
        if best is None or key[:2] > best[:2]:
            best = key
    assert best is not None
    return round(best[2], 6), best[0]
