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
    """The threshold of the best balanced accuracy on these videos, and that balanced accuracy.

    Each cut between distinct probabilities is scored at once from cumulative counts, in integers (fakes caught * reals
    + reals passed * fakes is balanced accuracy * 2 * fakes * reals), so that equally good thresholds compare equal:
    in floats 10/11 + 10/11 and 11/11 + 9/11 differ in the last bit, and the tie rule would not apply."""
    truth = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(probabilities, dtype=np.float64)
    reals, fakes = int((truth == 0).sum()), int((truth == 1).sum())
    if not reals or not fakes:
        raise ValueError("calibrating a threshold needs REAL and FAKE validation videos")
    distinct, position = np.unique(scores, return_inverse=True)
    fakes_at = np.bincount(position, weights=truth == 1, minlength=len(distinct)).astype(np.int64)
    reals_at = np.bincount(position, weights=truth == 0, minlength=len(distinct)).astype(np.int64)
    # Cut k calls FAKE the videos at distinct[k] and above: k = 0 below the lowest, k = len(distinct) above all.
    caught = fakes - np.concatenate([[0], np.cumsum(fakes_at)])
    passed = np.concatenate([[0], np.cumsum(reals_at)])
    merit = caught * reals + passed * fakes
    candidates = np.concatenate([[distinct[0] / 2], (distinct[:-1] + distinct[1:]) / 2, [(distinct[-1] + 1) / 2]])
    candidates = np.clip(candidates, *THRESHOLD_LIMITS)
    best = np.flatnonzero(merit == merit.max())
    chosen = best[np.argmin(np.abs(candidates[best] - 0.5))]
    return round(float(candidates[chosen]), 6), float(merit[chosen]) / (2 * fakes * reals)
