import math

import pytest

from deepfake.components.evaluate_model.metrics import (
    SCALAR_METRICS,
    MetricsError,
    binary_classification_metrics,
    bootstrap_standard_deviations,
    confusion,
    equal_error_rate,
    expected_calibration_error,
    roc_points,
    scalar_metrics,
)

# TP 2 (0.9, 0.8), FN 1 (0.4), FP 2 (0.6, 0.7), TN 1 (0.2); positive-over-negative pairs ranked right: 3 + 1 + 3 of 9.
LABELS = [0, 0, 0, 1, 1, 1]
PROBABILITIES = [0.2, 0.6, 0.7, 0.9, 0.4, 0.8]


def test_scalar_metrics_match_hand_computed_values() -> None:
    values = scalar_metrics(LABELS, PROBABILITIES, threshold=0.5)
    assert values["accuracy"] == pytest.approx(3 / 6)
    assert values["precision"] == pytest.approx(2 / 4)
    assert values["recall"] == pytest.approx(2 / 3)
    assert values["f1"] == pytest.approx(2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3))
    assert values["auc"] == pytest.approx(7 / 9)
    expected_loss = -sum(math.log(p if label else 1 - p) for label, p in zip(LABELS, PROBABILITIES, strict=True)) / len(
        LABELS
    )
    assert values["log_loss"] == pytest.approx(expected_loss)
    assert values["true_positive_rate"] == pytest.approx(2 / 3)
    assert values["false_negative_rate"] == pytest.approx(1 / 3)
    assert values["true_negative_rate"] == pytest.approx(1 / 3)
    assert values["false_positive_rate"] == pytest.approx(2 / 3)
    assert values["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    # precision at each fake, by falling probability: 1/1 (0.9), 2/2 (0.8), 3/5 (0.4); each a third of the recall
    assert values["average_precision"] == pytest.approx((1 + 1 + 3 / 5) / 3)
    # ROC (0, 0), (0, 2/3), (2/3, 2/3), (2/3, 1), (1, 1): FNR = FPR halfway along the flat segment, at 1/3
    assert values["equal_error_rate"] == pytest.approx(1 / 3)
    # one probability a bin: |p - label| averaged: 0.2, 0.6, 0.7 (REAL) and 0.1, 0.6, 0.2 (FAKE)
    assert values["expected_calibration_error"] == pytest.approx((0.2 + 0.6 + 0.7 + 0.1 + 0.6 + 0.2) / 6)


def test_the_equal_error_rate_of_a_corner_and_of_a_perfect_ranking() -> None:
    # (0, 0), (0, 1/2), (1/2, 1/2), (1/2, 1), (1, 1): FNR = FPR = 1/2 exactly at the third point
    assert equal_error_rate([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9]) == pytest.approx(0.5)
    assert equal_error_rate([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 0.0
    assert equal_error_rate([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 1.0


def test_calibration_error_is_zero_when_each_bins_probability_is_its_share_of_fakes() -> None:
    assert expected_calibration_error([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.0
    assert expected_calibration_error([0, 1], [0.05, 1.0]) == pytest.approx(0.05 / 2), "1.0 falls in the last bin"


def test_confusion_matrix_is_actual_then_predicted_with_string_keys() -> None:
    assert confusion(LABELS, PROBABILITIES, threshold=0.5) == {"0": {"0": 1, "1": 2}, "1": {"0": 1, "1": 2}}


def test_a_probability_equal_to_the_threshold_is_fake() -> None:
    assert confusion([0, 1], [0.2, 0.35], threshold=0.35) == {"0": {"0": 1, "1": 0}, "1": {"0": 0, "1": 1}}


def test_no_predicted_fake_gives_zero_precision_instead_of_failing() -> None:
    values = scalar_metrics([0, 1], [0.1, 0.2], threshold=0.5)
    assert values["precision"] == 0.0 and values["recall"] == 0.0 and values["f1"] == 0.0
    assert values["auc"] == 1.0


def test_roc_curve_of_a_perfect_ranking_climbs_straight_to_the_top_left() -> None:
    curve = roc_points([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9])
    points = list(zip(curve["false_positive_rates"], curve["true_positive_rates"], strict=True))
    assert points[0] == (0.0, 0.0) and (0.0, 1.0) in points and points[-1] == (1.0, 1.0)
    assert scalar_metrics([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], threshold=0.5)["auc"] == 1.0
    assert scalar_metrics([0, 0, 1, 1], [0.9, 0.7, 0.2, 0.1], threshold=0.5)["auc"] == 0.0


def test_one_class_is_refused_with_the_class_counts() -> None:
    with pytest.raises(MetricsError, match="REAL 3, FAKE 0"):
        scalar_metrics([0, 0, 0], [0.1, 0.2, 0.3], threshold=0.5)


@pytest.mark.parametrize(
    ("labels", "probabilities", "problem"),
    [
        ([0, 1], [0.1], "equal-length"),
        ([0, 2], [0.1, 0.9], "labels must be 0"),
        ([0, 1], [0.1, 1.5], "within \\[0, 1\\]"),
        ([0, 1], [0.1, float("nan")], "finite"),
    ],
)
def test_malformed_inputs_are_refused(labels: list[int], probabilities: list[float], problem: str) -> None:
    with pytest.raises(MetricsError, match=problem):
        scalar_metrics(labels, probabilities, threshold=0.5)


def test_bootstrap_is_deterministic_for_a_seed_and_varies_with_it() -> None:
    first = bootstrap_standard_deviations(LABELS, PROBABILITIES, 0.5, samples=20, seed=7)
    assert first == bootstrap_standard_deviations(LABELS, PROBABILITIES, 0.5, samples=20, seed=7)
    assert first != bootstrap_standard_deviations(LABELS, PROBABILITIES, 0.5, samples=20, seed=8)
    assert set(first) == set(SCALAR_METRICS)
    assert all(value > 0 for value in first.values())


def test_zero_bootstrap_samples_give_zero_standard_deviations() -> None:
    assert bootstrap_standard_deviations(LABELS, PROBABILITIES, 0.5, samples=0, seed=0) == dict.fromkeys(
        SCALAR_METRICS, 0.0
    )


def test_one_bootstrap_sample_is_refused_as_no_deviation() -> None:
    with pytest.raises(MetricsError, match="0 \\(off\\) or at least 2"):
        bootstrap_standard_deviations(LABELS, PROBABILITIES, 0.5, samples=1, seed=0)


def test_bootstrap_keeps_both_classes_so_a_perfect_ranking_never_wavers() -> None:
    deviations = bootstrap_standard_deviations([0, 1, 1, 1, 1, 1], [0.1, 0.6, 0.7, 0.8, 0.9, 0.95], 0.5, 40, 0)
    assert deviations["auc"] == 0.0 and deviations["accuracy"] == 0.0


def test_the_document_has_sagemakers_binary_classification_shape() -> None:
    document = binary_classification_metrics(LABELS, PROBABILITIES, 0.5, bootstrap_samples=10, seed=0)
    assert set(document) == {*SCALAR_METRICS, "confusion_matrix", "receiver_operating_characteristic_curve"}
    for name in SCALAR_METRICS:
        assert set(document[name]) == {"value", "standard_deviation"}
    assert document["auc"]["value"] == pytest.approx(7 / 9)
    assert set(document["receiver_operating_characteristic_curve"]) == {"false_positive_rates", "true_positive_rates"}
