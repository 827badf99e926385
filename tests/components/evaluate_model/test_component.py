import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deepfake.components.artifacts import pack_archive
from deepfake.components.classifier.model import ModelConfig, save_model
from deepfake.components.evaluate_model.component import COMPONENT, EvaluationError, read_split, score_videos
from deepfake.components.evaluate_model.metrics import SCALAR_METRICS
from deepfake.components.manifests import FaceRecord, write_jsonl
from deepfake.components.runtime import main
from tests.support.faces import face_row
from tests.support.models import BRIGHT, DARK, brightness_network, broken_model_archive

# Per video: label and the grey level of each face. fake-2 has one bright face among dark ones, so the mean of its
# faces calls it REAL while max calls it FAKE.
VIDEOS = {
    "real-0": (0, [DARK, DARK, DARK]),
    "real-1": (0, [DARK, DARK, DARK]),
    "real-2": (0, [DARK, DARK, DARK]),
    "fake-0": (1, [BRIGHT, BRIGHT, BRIGHT]),
    "fake-1": (1, [BRIGHT, BRIGHT, BRIGHT]),
    "fake-2": (1, [BRIGHT, DARK, DARK]),
}
METRIC_KEYS = {*SCALAR_METRICS, "confusion_matrix", "receiver_operating_characteristic_curve"}


def face(video: str, label: int, frame: int) -> FaceRecord:
    return face_row(video, frame, label, group=video.replace("fake", "real"))


@pytest.fixture(scope="module")
def packed_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    config = ModelConfig(architecture="resnet18", image_size=32, version="train-classifier 1.0.0 run-7")
    save_model(folder / "model", brightness_network(), config)
    pack_archive(folder / "model", folder / "model.tar.gz")
    return folder / "model.tar.gz"


@pytest.fixture
def base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, packed_model: Path) -> Path:
    """The processing container's folders: the packed model, a FaceDataset of grey JPEGs and its splits."""
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    inputs = tmp_path / "processing/input"
    (inputs / "model").mkdir(parents=True)
    shutil.copy(packed_model, inputs / "model/model.tar.gz")
    faces = inputs / "faces"
    rows = []
    for video, (label, levels) in VIDEOS.items():
        for frame, level in enumerate(levels):
            row = face(video, label, frame)
            (faces / row.image).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((32, 32, 3), level, dtype=np.uint8)).save(faces / row.image, quality=95)
            rows.append(row)
    write_jsonl(faces / "faces.jsonl", rows)
    (faces / "rejected.jsonl").write_text("")
    splits = inputs / "splits"
    splits.mkdir()
    write_jsonl(splits / "test.jsonl", rows)
    write_jsonl(splits / "validation.jsonl", [row for row in rows if row.label == 0])
    write_jsonl(splits / "train.jsonl", [])
    (splits / "counts.json").write_text("{}")
    return tmp_path


def evaluation(base: Path) -> dict:
    return json.loads((base / "processing/output/evaluation/evaluation.json").read_text())


def failure(base: Path) -> str:
    return (base / "output/message").read_text()


def test_aggregation_choices_change_the_verdicts() -> None:
    rows = [face("mostly-real", 1, frame) for frame in range(4)] + [face("split", 0, frame) for frame in range(3)]
    probabilities = np.array([0.9, 0.2, 0.2, 0.2, 0.6, 0.6, 0.0])

    def verdicts(how: str) -> dict[str, bool]:
        return {video.video_id: video.probability_fake >= 0.5 for video in score_videos(rows, probabilities, how)}

    assert verdicts("mean") == {"mostly-real": False, "split": False}  # 0.375, 0.4
    assert verdicts("median") == {"mostly-real": False, "split": True}  # 0.2, 0.6
    assert verdicts("max") == {"mostly-real": True, "split": True}  # 0.9, 0.6
    assert verdicts("top_quartile_mean") == {"mostly-real": True, "split": True}  # top 1 of 4: 0.9; top 1 of 3: 0.6
    assert [video.faces for video in score_videos(rows, probabilities, "mean")] == [4, 3]


def test_a_video_with_faces_of_two_labels_is_refused(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "test.jsonl", [face("v", 0, 0), face("v", 1, 1), face("w", 1, 0)])
    with pytest.raises(EvaluationError, match="video 'v' has faces labelled both REAL and FAKE"):
        read_split(tmp_path, "test")


def test_a_full_run_writes_sagemaker_metrics_plots_and_a_report(base: Path) -> None:
    assert main(COMPONENT, ["--bootstrap-samples", "20"]) == 0
    document = evaluation(base)
    assert set(document) == {"binary_classification_metrics", "frame_level", "evaluation", "by_method", "summary"}
    assert document["by_method"] == {}, "the test videos name no manipulation method"
    assert document["summary"] == {
        "worst_auc": 1.0,
        "worst_auc_set": "test",
        "worst_accuracy": pytest.approx(5 / 6),
        "smallest_class_videos": 3,
        "unmeasurable_sets": [],
    }
    video = document["binary_classification_metrics"]
    frame = document["frame_level"]["binary_classification_metrics"]
    for metrics in (video, frame):
        assert set(metrics) == METRIC_KEYS
        for name in SCALAR_METRICS:
            assert set(metrics[name]) == {"value", "standard_deviation"}
            assert metrics[name]["standard_deviation"] >= 0
            assert 0 <= metrics[name]["value"] <= (np.inf if name == "log_loss" else 1)
        curve = metrics["receiver_operating_characteristic_curve"]
        assert len(curve["false_positive_rates"]) == len(curve["true_positive_rates"]) >= 2
    # The mean of fake-2's faces (one bright, two dark) falls below 0.5: one FAKE video called REAL.
    assert video["confusion_matrix"] == {"0": {"0": 3, "1": 0}, "1": {"0": 1, "1": 2}}
    assert video["accuracy"]["value"] == pytest.approx(5 / 6)
    assert video["precision"]["value"] == 1.0 and video["recall"]["value"] == pytest.approx(2 / 3)
    assert video["auc"]["value"] == 1.0
    assert frame["confusion_matrix"] == {"0": {"0": 9, "1": 0}, "1": {"0": 2, "1": 7}}
    assert frame["auc"]["value"] == pytest.approx(7 * 9 / (9 * 9) + 2 * 9 * 0.5 / (9 * 9))
    assert document["evaluation"] == {
        "split": "test",
        "aggregation": "mean",
        "threshold": 0.5,
        "model_version": "train-classifier 1.0.0 run-7",
        "architecture": "resnet18",
        "bootstrap_samples": 20,
        "seed": 0,
        "videos": {"REAL": 3, "FAKE": 3},
        "faces": {"REAL": 9, "FAKE": 9},
    }
    output = base / "processing/output/evaluation"
    for image in ("roc.png", "confusion_matrix.png"):
        with Image.open(output / image) as png:
            assert png.format == "PNG" and png.width > 200
    report = (output / "report.md").read_text()
    assert "](roc.png)" in report and "](confusion_matrix.png)" in report
    assert "| ROC AUC | 1.0000 ± 0.0000 |" in report
    predictions = [json.loads(line) for line in (output / "predictions.jsonl").read_text().splitlines()]
    assert {row["video_id"]: row["predicted"] for row in predictions}["fake-2"] == "REAL"


def face_dataset(
    folder: Path, videos: dict[str, tuple[int, list[int]]], manifest: str = "faces", **fields: str
) -> None:
    rows = []
    for video, (label, levels) in videos.items():
        for frame, level in enumerate(levels):
            row = face(video, label, frame).model_copy(update=fields if label == 1 or "method" not in fields else {})
            (folder / row.image).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((32, 32, 3), level, dtype=np.uint8)).save(folder / row.image, quality=95)
            rows.append(row)
    write_jsonl(folder / f"{manifest}.jsonl", rows)
    (folder / "rejected.jsonl").write_text("")


def test_perturbed_copies_and_an_extra_test_set_are_reported_one_by_one_and_the_worst_is_summarised(
    base: Path,
) -> None:
    inputs = base / "processing/input"
    # crf40 darkens fake-1 (missed), blur leaves every face as it is.
    crf40 = {
        f"crf40/{video}": (label, [DARK] * 3 if video == "fake-1" else levels)
        for video, (label, levels) in VIDEOS.items()
    }
    blur = {f"blur/{video}": value for video, value in VIDEOS.items()}
    face_dataset(inputs / "perturbed", crf40, perturbation="crf40")
    face_dataset(inputs / "perturbed", blur, "faces-algo-2", perturbation="blur")  # as a second host writes it
    extra = {"x-real": (0, [DARK, DARK]), "x-fake-a": (1, [BRIGHT, BRIGHT]), "x-fake-b": (1, [DARK, DARK])}
    face_dataset(inputs / "extra_test", extra, method="NeuralTextures")
    assert main(COMPONENT, ["--bootstrap-samples", "0", "--extra-test-name", "celeb-df"]) == 0
    document = evaluation(base)
    robustness = document["robustness"]
    assert list(robustness) == ["blur", "crf40"]
    assert robustness["blur"]["auc"]["value"] == 1.0 and robustness["blur"]["auc_drop"] == 0.0
    # crf40: fake-1's dark faces tie with the three reals (AUC 0.5 each), the other fakes outrank them.
    assert robustness["crf40"]["auc"]["value"] == pytest.approx((3 + 3 + 1.5) / 9)
    extra_set = document["extra_test"]["celeb-df"]
    assert extra_set["videos"] == {"REAL": 1, "FAKE": 2} and extra_set["auc"]["value"] == pytest.approx(0.75)
    assert extra_set["by_method"]["NeuralTextures"]["recall"] == 0.5
    assert (
        document["summary"]["worst_auc"] == pytest.approx(0.75) and document["summary"]["worst_auc_set"] == "celeb-df"
    )
    output = base / "processing/output/evaluation"
    with Image.open(output / "robustness.png") as png:
        assert png.format == "PNG"
    report = (output / "report.md").read_text()
    assert "Worst AUC 0.7500 (celeb-df)" in report and "| crf40 | 6 | 0.8333 |" in report
    assert "By manipulation method (celeb-df)" in report


def test_a_perturbed_input_of_original_videos_is_refused(base: Path) -> None:
    face_dataset(base / "processing/input/perturbed", dict(list(VIDEOS.items())[:2]))
    assert main(COMPONENT, ["--bootstrap-samples", "0"]) == 1
    assert "holds faces of an original video (real-0, no perturbation)" in failure(base)


def test_aggregation_and_threshold_params_override_the_models_own(base: Path) -> None:
    assert main(COMPONENT, ["--aggregation", "max", "--threshold", "0.9", "--bootstrap-samples", "0"]) == 0
    document = evaluation(base)
    assert document["evaluation"]["aggregation"] == "max" and document["evaluation"]["threshold"] == 0.9
    assert document["binary_classification_metrics"]["confusion_matrix"] == {
        "0": {"0": 3, "1": 0},
        "1": {"0": 0, "1": 3},
    }
    assert document["binary_classification_metrics"]["accuracy"] == {"value": 1.0, "standard_deviation": 0.0}


def test_a_one_class_split_fails_naming_the_split_and_its_counts(base: Path) -> None:
    assert main(COMPONENT, ["--split", "validation"]) == 1
    message = failure(base)
    assert "split 'validation' holds one class only (videos: REAL 3, FAKE 0; faces: REAL 9, FAKE 0)" in message
    assert not (base / "processing/output/evaluation/evaluation.json").exists()


def test_an_empty_split_fails_clearly(base: Path) -> None:
    assert main(COMPONENT, ["--split", "train"]) == 1
    assert "split 'train' is empty: train.jsonl in input 'splits' holds no faces" in failure(base)


def test_a_missing_face_image_fails_naming_it(base: Path) -> None:
    (base / "processing/input/faces/faces/fake-1/00002.jpg").unlink()
    assert main(COMPONENT, []) == 1
    assert "1 of 18 face images named in test.jsonl are missing from input 'faces' (first: faces/fake-1/00002.jpg)" in (
        failure(base)
    )


def test_a_model_that_does_not_load_fails_clearly(base: Path, tmp_path: Path) -> None:
    broken_model_archive(tmp_path / "broken", base / "processing/input/model/model.tar.gz")
    assert main(COMPONENT, []) == 1
    assert "input 'model' at" in failure(base) and "does not load" in failure(base)


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--aggregation", '"sum"'], "parameter 'aggregation'"),
        (["--threshold", "1"], "parameter 'threshold'"),
        (["--bootstrap-samples", "1"], "parameter 'bootstrap_samples': Value error, set 0 to turn the bootstrap off"),
        (["--split", "holdout"], "parameter 'split'"),
    ],
)
def test_invalid_params_fail_before_any_work(base: Path, argv: list[str], problem: str) -> None:
    assert main(COMPONENT, argv) == 2
    assert problem in failure(base)


def test_an_unreadable_face_image_fails_naming_it(base: Path) -> None:
    (base / "processing/input/faces/faces/real-1/00000.jpg").write_bytes(b"not a jpeg")
    assert main(COMPONENT, []) == 1
    assert "real-1/00000.jpg cannot be read" in failure(base)
