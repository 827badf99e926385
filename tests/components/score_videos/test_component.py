import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deepfake.components.artifacts import pack_archive
from deepfake.components.classifier.model import ModelConfig, save_model
from deepfake.components.face_table import FaceTable
from deepfake.components.manifests import FaceRecord, RejectedVideo, VideoRecord, write_jsonl
from deepfake.components.runtime import main
from deepfake.components.score_videos.component import COMPONENT, video_ranges
from tests.support.faces import face_row
from tests.support.models import BRIGHT, DARK, brightness_network, broken_model_archive

# Grey levels of each video's faces; the brightness model scores DARK about 0.15 and BRIGHT about 0.99.
FACES = {
    "real-0": [DARK, DARK, DARK],
    "fake-0": [BRIGHT, BRIGHT, BRIGHT],
    "mixed": [BRIGHT, DARK, DARK],
    "one-face": [BRIGHT],
}
NO_FACE_REASON = "no face found in any of the 3 sampled frames"


def record(video: str) -> VideoRecord:
    return VideoRecord(
        id=video,
        path=f"{video}.mp4",
        label=None,
        group=video,
        dataset="unlabeled",
        frames=30,
        fps=25.0,
        width=320,
        height=240,
        duration_s=1.2,
    )


Packer = Callable[..., Path]


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> Packer:
    """The brightness model packed as model.tar.gz with a given input size and threshold, each made once."""
    made: dict[tuple[int, float], Path] = {}

    def pack(size: int = 32, threshold: float = 0.5) -> Path:
        if (size, threshold) not in made:
            folder = tmp_path_factory.mktemp("model")
            config = ModelConfig(architecture="resnet18", image_size=size, threshold=threshold, version="brightness-1")
            save_model(folder / "model", brightness_network(), config)
            pack_archive(folder / "model", folder / "model.tar.gz")
            made[size, threshold] = folder / "model.tar.gz"
        return made[size, threshold]

    return pack


def use_model(base: Path, archive: Path) -> None:
    shutil.copy(archive, base / "processing/input/model/model.tar.gz")


@pytest.fixture
def base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, packed: Packer) -> Path:
    """The processing container's folders: a packed model, a manifest of five videos, the faces of four."""
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path / "ml"))
    inputs = tmp_path / "ml/processing/input"
    (inputs / "model").mkdir(parents=True)
    shutil.copy(packed(), inputs / "model/model.tar.gz")
    manifest = inputs / "manifest"
    manifest.mkdir()
    write_jsonl(manifest / "videos.jsonl", [record(video) for video in [*FACES, "no-face"]])
    write_jsonl(manifest / "rejected.jsonl", [RejectedVideo(path="broken.mp4", reason="cannot decode: moov missing")])
    faces = inputs / "faces"
    rows = []
    for video, levels in FACES.items():
        for frame, level in enumerate(levels):
            row = face_row(video, frame)
            (faces / row.image).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((32, 32, 3), level, dtype=np.uint8)).save(faces / row.image, quality=95)
            rows.append(row)
    write_jsonl(faces / "faces.jsonl", rows)
    write_jsonl(faces / "rejected.jsonl", [RejectedVideo(path="no-face.mp4", reason=NO_FACE_REASON)])
    return tmp_path / "ml"


def verdicts(base: Path) -> dict[str, dict]:
    lines = (base / "processing/output/verdicts/verdicts.jsonl").read_text().splitlines()
    return {row["video_id"]: row for row in map(json.loads, lines)}


def summary(base: Path) -> dict:
    return json.loads((base / "processing/output/summary/summary.json").read_text())


def failure(base: Path) -> str:
    return (base / "output/message").read_text()


def test_every_video_gets_a_verdict_and_videos_without_faces_are_unscorable(base: Path) -> None:
    assert main(COMPONENT, ["--min-faces", "2"]) == 0
    rows = verdicts(base)
    assert list(rows) == sorted(rows) == ["fake-0", "mixed", "no-face", "one-face", "real-0"]
    labels = {video: row["label"] for video, row in rows.items()}
    assert labels == {
        "fake-0": "FAKE",
        "mixed": "REAL",  # the mean of one bright and two dark faces is below 0.5
        "no-face": "UNSCORABLE",
        "one-face": "UNSCORABLE",
        "real-0": "REAL",
    }
    assert rows["fake-0"]["probability_fake"] > 0.9 and rows["real-0"]["probability_fake"] < 0.2
    assert rows["mixed"]["faces_scored"] == 3 and rows["mixed"]["aggregation"] == "mean"
    assert rows["no-face"] == {
        "video_id": "no-face",
        "path": "no-face.mp4",
        "label": "UNSCORABLE",
        "probability_fake": None,
        "faces_scored": 0,
        "aggregation": "mean",
        "threshold": 0.5,
        "reason": NO_FACE_REASON,
        "people": 0,
        "suspect_track": None,
        "tracks": [],
    }
    assert rows["mixed"]["people"] == 1 and rows["mixed"]["suspect_track"] == 0
    assert rows["mixed"]["tracks"][0]["probability_fake"] == rows["mixed"]["probability_fake"]
    assert rows["one-face"]["reason"] == "1 face(s) found, fewer than min_faces 2"
    assert rows["one-face"]["probability_fake"] is None

    with (base / "processing/output/verdicts/verdicts.csv").open(newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [row["video_id"] for row in table] == list(rows)
    for row in table:
        expected = rows[row["video_id"]]
        assert row["label"] == expected["label"] and row["faces_scored"] == str(expected["faces_scored"])
        assert row["probability_fake"] == (
            "" if expected["probability_fake"] is None else str(expected["probability_fake"])
        )

    document = summary(base)
    assert document["counts"] == {"REAL": 2, "FAKE": 1, "UNSCORABLE": 2}
    assert document["videos"] == 5 and document["not_ingested"] == 1 and document["faces_scored"] == 10
    assert document["fake_share"] == pytest.approx(1 / 3, abs=1e-6)
    assert document["model"] == {"version": "brightness-1", "architecture": "resnet18", "image_size": 32}
    assert (document["aggregation"], document["threshold"], document["min_faces"]) == ("mean", 0.5, 2)
    report = (base / "processing/output/summary/report.md").read_text()
    assert "| FAKE | 1 |" in report and "| UNSCORABLE | 2 |" in report
    assert f"| no-face | {NO_FACE_REASON} |" in report
    assert "| broken.mp4 | cannot decode: moov missing |" in report


def test_params_override_the_models_aggregation_and_threshold(base: Path) -> None:
    assert main(COMPONENT, ["--aggregation", "max", "--threshold", "0.95"]) == 0
    rows = verdicts(base)
    assert {video: row["label"] for video, row in rows.items() if row["label"] != "UNSCORABLE"} == {
        "fake-0": "FAKE",
        "mixed": "FAKE",  # max picks its bright face
        "one-face": "FAKE",  # min_faces 1 by default
        "real-0": "REAL",
    }
    assert {row["threshold"] for row in rows.values()} == {0.95} and summary(base)["aggregation"] == "max"


def test_the_models_own_threshold_applies_when_no_param_sets_one(base: Path, packed: Packer) -> None:
    use_model(base, packed(threshold=0.1))
    assert main(COMPONENT, []) == 0
    assert summary(base)["counts"] == {"REAL": 0, "FAKE": 4, "UNSCORABLE": 1}
    assert {row["threshold"] for row in verdicts(base).values()} == {0.1}


def test_faces_cropped_at_another_size_than_the_model_takes_fail_naming_the_fix(base: Path, packed: Packer) -> None:
    use_model(base, packed(size=48))
    assert main(COMPONENT, []) == 1
    assert "the face crops are 32x32 px but model brightness-1 takes 48 px faces" in failure(base)
    assert "pipeline parameter FaceSize=48" in failure(base)


def test_faces_of_videos_the_manifest_does_not_list_are_refused(base: Path) -> None:
    write_jsonl(base / "processing/input/manifest/videos.jsonl", [record("real-0")])
    assert main(COMPONENT, []) == 1
    assert "holds faces of 3 video(s) that input 'manifest' does not list (first: 'fake-0')" in failure(base)


def test_a_missing_crop_fails_before_scoring(base: Path) -> None:
    (base / "processing/input/faces/faces/mixed/00001.jpg").unlink()
    assert main(COMPONENT, []) == 1
    assert "1 of 10 face images named in faces.jsonl are missing from input 'faces' (first: faces/mixed" in (
        failure(base)
    )


def test_a_model_that_does_not_load_fails_clearly(base: Path, tmp_path: Path) -> None:
    broken_model_archive(tmp_path / "broken", base / "processing/input/model/model.tar.gz")
    assert main(COMPONENT, []) == 1
    assert "input 'model' at" in failure(base) and "does not load (" in failure(base)
    assert "pass the model folder or model.tar.gz that train-classifier wrote" in failure(base)


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--threshold", "1"], "parameter 'threshold'"),
        (["--min-faces", "0"], "parameter 'min_faces'"),
        (["--aggregation", "sum"], "parameter 'aggregation'"),
        (["--batch-size", "0"], "parameter 'batch_size'"),
    ],
)
def test_invalid_params_fail_before_any_work(base: Path, argv: list[str], problem: str) -> None:
    assert main(COMPONENT, argv) == 2
    assert problem in failure(base)
    assert not (base / "processing/output/verdicts").exists()


def test_without_any_face_every_video_is_unscorable_and_nothing_is_guessed(base: Path) -> None:
    faces = base / "processing/input/faces"
    (faces / "faces.jsonl").write_text("")
    assert main(COMPONENT, []) == 0
    rows = verdicts(base)
    assert {row["label"] for row in rows.values()} == {"UNSCORABLE"}
    assert {row["probability_fake"] for row in rows.values()} == {None}
    assert rows["real-0"]["reason"] == "no faces in input 'faces': extract-faces did not process this video"
    assert summary(base)["counts"] == {"REAL": 0, "FAKE": 0, "UNSCORABLE": 5}
    assert summary(base)["fake_share"] == 0.0


def test_each_videos_faces_are_found_as_one_range_and_scattered_faces_are_refused() -> None:
    rows = [face_row("a", 0), face_row("a", 1), face_row("b", 0), face_row("c", 0), face_row("c", 1)]
    together = FaceTable.from_rows(rows, FaceRecord)
    assert video_ranges(together) == {"a": (0, 2), "b": (2, 3), "c": (3, 5)}
    assert video_ranges(FaceTable.from_rows([], FaceRecord)) == {}
    scattered = FaceTable.from_rows([face_row("a", 0), face_row("b", 0), face_row("a", 1)], FaceRecord)
    with pytest.raises(ValueError, match="faces are not together"):
        video_ranges(scattered)
