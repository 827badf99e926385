"""Per-method breakdown, per-set metrics and the gate's summary, against values worked out by hand."""

import pytest

from deepfake.components.evaluate_model.sets import UNNAMED_METHOD, VideoScore, by_method, set_metrics, summary


def video(name: str, label: int, probability: float, method: str | None = None) -> VideoScore:
    return VideoScore(name, label, probability, faces=1, method=method)


REALS = [video("r1", 0, 0.1), video("r2", 0, 0.4), video("r3", 0, 0.7)]
FAKES = [
    video("f1", 1, 0.9, "Deepfakes"),
    video("f2", 1, 0.8, "Deepfakes"),
    video("f3", 1, 0.3, "FaceSwap"),
    video("f4", 1, 0.6, "FaceSwap"),
]


def test_each_method_is_its_fakes_against_every_real_video() -> None:
    found = by_method([*REALS, *FAKES], threshold=0.5, bootstrap=0, seed=0)
    assert list(found) == ["Deepfakes", "FaceSwap"]
    # Deepfakes (0.9, 0.8) outrank every real (0.1, 0.4, 0.7): AUC 1. FaceSwap 0.3 beats 1 real of 3, 0.6 beats 2:
    # AUC (1 + 2) / 6 = 0.5; at threshold 0.5 one of its two fakes is caught.
    assert found["Deepfakes"]["auc"]["value"] == 1.0 and found["Deepfakes"]["recall"] == 1.0
    assert found["FaceSwap"]["auc"]["value"] == pytest.approx(0.5) and found["FaceSwap"]["recall"] == 0.5
    assert found["FaceSwap"]["videos"] == {"REAL": 3, "FAKE": 2}
    # Accuracy of FaceSwap's set at 0.5: reals 0.1, 0.4 right, 0.7 wrong; fakes 0.6 right, 0.3 wrong: 3 of 5.
    assert found["FaceSwap"]["accuracy"]["value"] == pytest.approx(0.6)


def test_no_method_named_gives_no_breakdown_and_a_partly_named_set_groups_the_rest() -> None:
    unnamed = [video(f.video_id, 1, f.probability_fake) for f in FAKES]
    assert by_method([*REALS, *unnamed], 0.5, 0, 0) == {}
    mixed = by_method([*REALS, *unnamed[:2], *FAKES[2:]], 0.5, 0, 0)
    assert set(mixed) == {UNNAMED_METHOD, "FaceSwap"} and mixed[UNNAMED_METHOD]["auc"]["value"] == 1.0


def test_a_set_of_one_class_is_not_measurable() -> None:
    assert set_metrics(REALS, 0.5, 0, 0) == {"videos": {"REAL": 3, "FAKE": 0}, "measurable": False}


def test_the_summary_is_the_worst_measurable_set_and_the_test_splits_smaller_class() -> None:
    test = set_metrics([*REALS, *FAKES], 0.5, 0, 0)  # AUC: (3 + 3 + 1 + 2) / 12 = 0.75
    assert test["auc"]["value"] == pytest.approx(0.75)
    others = {
        "crf40": set_metrics([*REALS, *FAKES[2:]], 0.5, 0, 0),  # 0.5
        "blur": set_metrics([*REALS, *FAKES[:2]], 0.5, 0, 0),  # 1.0
        "half": set_metrics(REALS, 0.5, 0, 0),  # one class: left out, and named
    }
    found = summary(test, others)
    assert found["worst_auc"] == pytest.approx(0.5) and found["worst_auc_set"] == "crf40"
    assert found["smallest_class_videos"] == 3 and found["unmeasurable_sets"] == ["half"]
    assert found["worst_accuracy"] == pytest.approx(0.6)


def test_without_other_sets_the_worst_is_the_test_split() -> None:
    test = set_metrics([*REALS, *FAKES], 0.5, 0, 0)
    assert summary(test, {})["worst_auc_set"] == "test"
