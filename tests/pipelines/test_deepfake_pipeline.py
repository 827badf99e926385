import io
import json
from pathlib import Path

import pytest

from components.manifests import FaceRecord, read_faces, read_jsonl
from pipelines.deepfake import build_pipeline
from pipelines.local import LocalRunner
from pipelines.records import StepState
from tests.media import blank_clip, face_clip


@pytest.fixture(scope="module")
def dfdc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four originals with one fake each, plus an unreadable entry, in DFDC's metadata.json layout."""
    root = tmp_path_factory.mktemp("dfdc")
    metadata = {}
    for index in range(4):
        face_clip(root / f"part0/real{index}.mp4", frames=8, face_height=50 + 6 * index)
        face_clip(root / f"part0/fake{index}.mp4", frames=8, face_height=53 + 6 * index)
        metadata[f"real{index}.mp4"] = {"label": "REAL", "split": "train", "original": None}
        metadata[f"fake{index}.mp4"] = {"label": "FAKE", "split": "train", "original": f"real{index}.mp4"}
    blank_clip(root / "part0/noface.mp4")
    metadata["noface.mp4"] = {"label": "REAL", "split": "train"}
    (root / "part0/corrupt.mp4").write_bytes(b"corrupt" * 50)
    metadata["corrupt.mp4"] = {"label": "FAKE", "split": "train", "original": "real0.mp4"}
    (root / "part0/metadata.json").write_text(json.dumps(metadata))
    return root


def test_the_data_stages_run_as_one_dag(dfdc: Path, tmp_path: Path) -> None:
    runner = LocalRunner(tmp_path / "runs", out=io.StringIO())
    arguments = {"InputData": str(dfdc), "FramesPerVideo": "3", "FaceSize": "48"}
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
    assert json.loads((splits_dir / "counts.json").read_text())["source_splits_honoured"] is False
    again = runner.run(build_pipeline(), arguments)
    assert {step.state for step in again.steps.values()} == {StepState.CACHED}
