import io
import json
from pathlib import Path

import pytest

from deepfake.components.manifests import FaceRecord, VideoRecord, read_jsonl
from deepfake.pipelines.builtin.deepfake import build_pipeline
from deepfake.pipelines.local.records import RunRecord, StepState
from deepfake.pipelines.local.runner import LocalRunner
from deepfake.pipelines.registry import LocalRegistry
from tests.support.faces import read_faces
from tests.support.media import small_dfdc


@pytest.fixture(scope="module")
def dfdc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_dfdc(tmp_path_factory.mktemp("dfdc"))


QUICK = {"FramesPerVideo": "3", "FaceSize": "48", "Epochs": "1", "BatchSize": "4", "EarlyStoppingPatience": "2"}
OPEN_GATE = {"MinAuc": "0", "MinAccuracy": "0", "MinWorstAuc": "0", "MinTestVideosPerClass": "1"}
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One runs folder (and step cache) for the module: the gate's params are no step's params, so a run that only
    changes the gate reuses every step up to it, as it would for a user."""
    return tmp_path_factory.mktemp("runs")


def test_the_whole_pipeline_runs_gates_and_registers(dfdc: Path, runs: Path) -> None:
    runner = LocalRunner(runs, out=io.StringIO())
    # Two test videos a class at most: the gate's minimum is lowered here, and its refusal tested below.
    arguments = {**OPEN_GATE, "InputData": str(dfdc), **QUICK}
    record = runner.run(build_pipeline(), arguments)
    assert record.state is StepState.SUCCEEDED, record.failure
    manifest = json.loads((record.steps["ingest-videos"].outputs["manifest"].path / "summary.json").read_text())
    assert manifest["accepted"] == 9 and manifest["rejected"] == 1
    faces_dir = record.steps["extract-faces"].outputs["faces"].path
    summary = json.loads((faces_dir / "summary.json").read_text())
    assert summary["processed"] == 8 and summary["processed"] + summary["rejected"] == summary["total"] == 9
    faces = read_faces(faces_dir)
    assert len(faces) == 24 and {face.group for face in faces} == {f"part0/real{index}" for index in range(4)}
    splits_dir = record.steps["split-dataset"].outputs["splits"].path
    groups = {
        split: {row.group for row in read_jsonl(splits_dir / f"{split}.jsonl", FaceRecord)}
        for split in ("train", "validation", "test")
    }
    assert all(groups.values()) and sum(map(len, groups.values())) == 4
    evaluation = json.loads((record.steps["evaluate-model"].outputs["evaluation"].path / "evaluation.json").read_text())
    auc = evaluation["binary_classification_metrics"]["auc"]["value"]
    assert (
        record.steps["quality-gate"].reason is not None
        and f"auc.value={auc:.4g}" in record.steps["quality-gate"].reason
    )
    package = runner.registry.get("deepfake-detector", 1)
    assert package.status.value == "PendingManualApproval" and package.image == "deepfake/serve"
    assert package.metrics == evaluation
    assert "## evaluate-model: evaluation" in (record.folder / "report.md").read_text()
    copies = read_jsonl(record.steps["perturb-videos"].outputs["manifest"].path / "videos.jsonl", VideoRecord)
    test_videos = {row.video_id for row in read_jsonl(splits_dir / "test.jsonl", FaceRecord)}
    assert {copy.id.split("/", 1)[1] for copy in copies} == test_videos, "only the test split is perturbed"
    assert {copy.perturbation for copy in copies} == {"crf23", "crf32", "crf40", "half", "blur"}
    assert set(evaluation["robustness"]) <= {"crf23", "crf32", "crf40", "half", "blur"}
    assert evaluation["summary"]["worst_auc"] <= auc

    again = runner.run(build_pipeline(), arguments)
    assert {step.state for step in again.steps.values() if step.type not in ("condition", "fail")} == {StepState.CACHED}
    more_epochs = runner.run(build_pipeline(), {**arguments, "Epochs": "3"})
    states = {name: step.state for name, step in more_epochs.steps.items()}
    assert [states[name] for name in ("ingest-videos", "extract-faces", "split-dataset")] == [StepState.CACHED] * 3
    assert states["train-classifier"] is StepState.SUCCEEDED and states["evaluate-model"] is StepState.SUCCEEDED


def test_a_gate_failure_ends_the_run_and_registers_nothing(dfdc: Path, runs: Path, tmp_path: Path) -> None:
    runner = LocalRunner(runs, out=io.StringIO(), registry=LocalRegistry(tmp_path / "registry"))
    record = runner.run(build_pipeline(), {**OPEN_GATE, "InputData": str(dfdc), **QUICK, "MinAccuracy": "1.01"})
    assert record.state is StepState.FAILED
    assert record.failure is not None and record.failure.startswith(
        "step 'quality-gate-failed' failed: video-level AUC"
    )
    assert "must reach MinAuc 0.0 MinAccuracy 1.01 MinWorstAuc 0.0 and MinTestVideosPerClass 1" in record.failure
    assert record.steps["register-model"].state is StepState.SKIPPED
    assert runner.registry.list("deepfake-detector") == []


def test_the_gate_refuses_a_test_split_too_small_to_measure(dfdc: Path, runs: Path, tmp_path: Path) -> None:
    """Every metric may pass: two test videos a class are still no measurement at the default minimum of 32."""
    runner = LocalRunner(runs, out=io.StringIO(), registry=LocalRegistry(tmp_path / "registry"))
    gate = {**OPEN_GATE, "MinTestVideosPerClass": "32"}
    record = runner.run(build_pipeline(), {"InputData": str(dfdc), **QUICK, **gate})
    assert record.state is StepState.FAILED and record.failure is not None
    assert "summary.smallest_class_videos" in (record.steps["quality-gate"].reason or "")
    assert "and MinTestVideosPerClass 32" in record.failure
    assert runner.registry.list("deepfake-detector") == []


def test_the_pipeline_trains_and_evaluates_on_a_sharded_face_dataset(dfdc: Path, runs: Path, tmp_path: Path) -> None:
    """FaceShardSize packs the crops into tar shards; split, training, the sweep's faces and evaluation read them."""
    runner = LocalRunner(runs, out=io.StringIO(), registry=LocalRegistry(tmp_path / "registry"))
    loose = runner.run(build_pipeline(), {**OPEN_GATE, "InputData": str(dfdc), **QUICK})
    record = runner.run(build_pipeline(), {**OPEN_GATE, "InputData": str(dfdc), **QUICK, "FaceShardSize": "5"})
    assert record.state is StepState.SUCCEEDED, record.failure
    faces_dir = record.steps["extract-faces"].outputs["faces"].path
    assert sorted(path.name for path in (faces_dir / "shards").iterdir()) == [f"algo-1-0000{n}.tar" for n in range(5)]
    assert not (faces_dir / "faces").exists()
    loose_faces = read_faces(loose.steps["extract-faces"].outputs["faces"].path)
    assert [face.image.split("#", 1)[1] for face in read_faces(faces_dir)] == [face.image for face in loose_faces]
    assert (record.steps["extract-perturbed-faces"].outputs["faces"].path / "shards").is_dir()

    def evaluation(run: RunRecord) -> dict[str, object]:
        return json.loads((run.steps["evaluate-model"].outputs["evaluation"].path / "evaluation.json").read_text())

    sharded, unsharded = evaluation(record), evaluation(loose)
    assert sharded["evaluation"]["faces"] == unsharded["evaluation"]["faces"]
    # The same crops in the same order train the same weights: every metric is the loose layout's.
    for key in ("binary_classification_metrics", "frame_level", "robustness", "summary"):
        assert sharded[key] == unsharded[key], key
