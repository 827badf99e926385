import io
import json
from pathlib import Path

import pytest
import torch

from deepfake.components.artifacts import pack_archive
from deepfake.components.classifier.model import ModelConfig, load_model, save_model
from deepfake.components.classifier.scoring import eval_transform, load_face, predict_probabilities
from deepfake.pipelines.builtin.batch_scoring import build_pipeline
from deepfake.pipelines.dag import ComponentStep, OutputRef, ParamRef
from deepfake.pipelines.local.records import RunRecord, StepState
from deepfake.pipelines.local.runner import LocalRunner
from tests.support.faces import read_faces
from tests.support.media import blank_clip, face_clip
from tests.support.models import brightness_network

pytestmark = pytest.mark.slow  # a whole pipeline run

FACE_SIZE = 48


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Unlabeled videos as a user drops them in a folder: two with a face, one without, one that is not a video."""
    root = tmp_path_factory.mktemp("inbox")
    face_clip(root / "a.mp4", frames=8, face_height=50)
    face_clip(root / "day 2/b.mp4", frames=8, face_height=60)
    blank_clip(root / "blank.mp4", frames=8)
    (root / "broken.mp4").write_bytes(b"corrupt" * 50)
    return root


@pytest.fixture(scope="module")
def model_version(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding model.tar.gz: the brightness model on 48 px faces, packed as training packs a model."""
    folder = tmp_path_factory.mktemp("models") / "brightness"
    config = ModelConfig(architecture="resnet18", image_size=FACE_SIZE, version="brightness-48")
    save_model(folder.parent / "model", brightness_network(), config)
    folder.mkdir()
    pack_archive(folder.parent / "model", folder / "model.tar.gz")
    return folder


def test_the_dag_is_the_three_library_stages_with_the_model_as_a_parameter() -> None:
    pipeline = build_pipeline()
    assert pipeline.topological_order() == ["ingest-videos", "extract-faces", "score-videos"]
    assert all(isinstance(step, ComponentStep) for step in pipeline.steps.values())
    score = pipeline.steps["score-videos"]
    assert isinstance(score, ComponentStep)
    assert score.inputs == {
        "model": ParamRef(name="ModelData"),
        "manifest": OutputRef(step="ingest-videos", output="manifest"),
        "faces": OutputRef(step="extract-faces", output="faces"),
    }
    assert pipeline.parameters["DatasetFormat"].default == "unlabeled"


def test_batch_scoring_gives_every_video_a_verdict_from_a_packed_model(
    inbox: Path, model_version: Path, tmp_path: Path
) -> None:
    runner = LocalRunner(tmp_path / "runs", out=io.StringIO())
    arguments = {"InputData": str(inbox), "FramesPerVideo": "3", "FaceSize": str(FACE_SIZE)}
    record = runner.run(build_pipeline(), {**arguments, "ModelData": str(model_version)})
    assert record.state is StepState.SUCCEEDED, record.failure

    verdicts_dir = record.steps["score-videos"].outputs["verdicts"].path
    rows = {row["video_id"]: row for row in map(json.loads, (verdicts_dir / "verdicts.jsonl").read_text().splitlines())}
    assert list(rows) == ["a", "blank", "day 2/b"]
    assert rows["blank"]["label"] == "UNSCORABLE" and rows["blank"]["probability_fake"] is None
    assert rows["blank"]["reason"] == "no face found in any of the 3 sampled frames"

    # The verdicts are the model's mean face probability against its threshold, recomputed here from the crops.
    faces_dir = record.steps["extract-faces"].outputs["faces"].path
    faces = read_faces(faces_dir)
    assert all(face.label is None for face in faces)
    network, config = load_model(model_version.parent / "model")
    transform = eval_transform(config)
    for video in ("a", "day 2/b"):
        crops = [load_face(faces_dir / face.image) for face in faces if face.video_id == video]
        assert all(crop.size == (FACE_SIZE, FACE_SIZE) for crop in crops)
        batch = torch.stack([transform(crop) for crop in crops])
        expected = float(predict_probabilities(network, batch, config).mean())
        assert rows[video]["probability_fake"] == pytest.approx(expected, abs=1e-5)
        assert rows[video]["faces_scored"] == len(crops) == 3
        assert rows[video]["label"] == ("FAKE" if expected >= config.threshold else "REAL")

    summary = json.loads((record.steps["score-videos"].outputs["summary"].path / "summary.json").read_text())
    assert summary["counts"]["UNSCORABLE"] == 1 and summary["counts"]["REAL"] + summary["counts"]["FAKE"] == 2
    assert summary["not_ingested"] == 1 and summary["model"]["version"] == "brightness-48"
    assert "broken.mp4" in (record.steps["score-videos"].outputs["summary"].path / "report.md").read_text()

    # The model.tar.gz itself (as the registry lists it) is the same input as a folder holding only it.
    again = runner.run(build_pipeline(), {**arguments, "ModelData": str(model_version / "model.tar.gz")})
    assert {step.state for step in again.steps.values()} == {StepState.CACHED}, again.failure


def test_batch_scoring_of_a_sharded_face_dataset_gives_the_loose_layouts_verdicts(
    inbox: Path, model_version: Path, tmp_path: Path
) -> None:
    runner = LocalRunner(tmp_path / "runs", out=io.StringIO())
    arguments = {"InputData": str(inbox), "FramesPerVideo": "3", "FaceSize": str(FACE_SIZE)}
    arguments["ModelData"] = str(model_version)
    loose = runner.run(build_pipeline(), arguments)
    sharded = runner.run(build_pipeline(), {**arguments, "FaceShardSize": "2"})
    assert sharded.state is StepState.SUCCEEDED, sharded.failure
    faces_dir = sharded.steps["extract-faces"].outputs["faces"].path
    assert len(list((faces_dir / "shards").glob("*.tar"))) == 3 and not (faces_dir / "faces").exists()

    def verdicts(record: RunRecord) -> str:
        return (record.steps["score-videos"].outputs["verdicts"].path / "verdicts.jsonl").read_text()

    assert verdicts(sharded) == verdicts(loose)
