import json
import os
from pathlib import Path

import numpy as np
import pytest

from deepfake.components.faces.sampling import probe
from deepfake.components.manifests import LabelledFace, RejectedVideo, VideoRecord, read_jsonl, write_jsonl
from deepfake.components.perturb_videos.component import COMPONENT
from deepfake.components.runtime import main
from tests.support.media import decoded_frames, face_clip

FRAMES = 10


def record(path: str, label: int = 0, frames: int = FRAMES, method: str | None = None) -> VideoRecord:
    video_id = path.rsplit(".", 1)[0]
    return VideoRecord(
        id=video_id,
        path=path,
        label=label,
        group=video_id,
        method=method,
        dataset="csv",
        frames=frames,
        fps=25,
        width=320,
        height=240,
        duration_s=frames / 25,
    )


def split_row(video_id: str, label: int) -> LabelledFace:
    return LabelledFace(
        video_id=video_id,
        frame_index=0,
        image=f"faces/{video_id}/0.jpg",
        box=(0, 0, 1, 1),
        score=1,
        label=label,
        group=video_id,
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("videos")
    for name in ("a", "b", "c"):
        face_clip(folder / f"{name}.mp4", frames=FRAMES)
    return folder


def run_perturb(base: Path, root: Path, records: list[VideoRecord], *args: str, test: list[str] | None = None) -> int:
    inputs = base / "processing/input"
    (inputs / "manifest").mkdir(parents=True, exist_ok=True)
    write_jsonl(inputs / "manifest/videos.jsonl", records)
    write_jsonl(inputs / "manifest/rejected.jsonl", [])
    if not (inputs / "videos").exists():
        (inputs / "videos").symlink_to(root, target_is_directory=True)
    if test is not None:
        (inputs / "splits").mkdir(exist_ok=True)
        for split in ("train", "validation"):
            write_jsonl(inputs / f"splits/{split}.jsonl", [])
        write_jsonl(inputs / "splits/test.jsonl", [split_row(video, 0) for video in test])
        (inputs / "splits/counts.json").write_text("{}")
    (base / "config").mkdir(parents=True, exist_ok=True)
    (base / "config/resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    os.environ["SAGEMAKER_BASE_DIR"] = str(base)
    try:
        return main(COMPONENT, list(args))
    finally:
        del os.environ["SAGEMAKER_BASE_DIR"]


def outputs(base: Path) -> tuple[list[VideoRecord], list[RejectedVideo], Path]:
    output = base / "processing/output"
    manifest = output / "manifest"
    return (
        read_jsonl(manifest / "videos.jsonl", VideoRecord),
        read_jsonl(manifest / "rejected.jsonl", RejectedVideo),
        output / "videos",
    )


def test_each_perturbation_is_a_decodable_copy_listed_with_what_was_done(root: Path, tmp_path: Path) -> None:
    assert run_perturb(tmp_path, root, [record("a.mp4", label=1, method="FaceSwap")], "--workers", "2") == 0
    copies, rejected, videos = outputs(tmp_path)
    assert rejected == []
    assert [copy.id for copy in copies] == [f"{name}/a" for name in ("blur", "crf23", "crf32", "crf40", "half")]
    for copy in copies:
        info = probe(videos / copy.path)
        assert (info.frames, info.width, info.height) == (FRAMES, copy.width, copy.height), copy.id
        assert copy.perturbation == copy.id.split("/")[0] and copy.label == 1 and copy.method == "FaceSwap"
        assert copy.group == "a", "a copy stays in its original's group"
    sizes = {copy.perturbation: (videos / copy.path).stat().st_size for copy in copies}
    assert sizes["crf40"] < sizes["crf32"] < sizes["crf23"], "a higher CRF keeps fewer bits"
    half = next(copy for copy in copies if copy.perturbation == "half")
    assert (half.width, half.height) == (160, 120)
    original = decoded_frames(root / "a.mp4", [5])[0].astype(np.float64)
    blurred = decoded_frames(videos / "blur/a.mp4", [5])[0].astype(np.float64)
    sharpness = [np.abs(np.diff(frame, axis=1)).mean() for frame in (original, blurred)]
    assert sharpness[1] < 0.9 * sharpness[0], "the blurred copy has softer edges"


def test_with_splits_only_that_splits_videos_are_perturbed(root: Path, tmp_path: Path) -> None:
    records = [record("a.mp4"), record("b.mp4"), record("c.mp4")]
    assert run_perturb(tmp_path, root, records, "--perturbations", '["crf40"]', test=["b", "c"]) == 0
    copies, _, _ = outputs(tmp_path)
    assert [copy.id for copy in copies] == ["crf40/b", "crf40/c"]


def test_a_rerun_keeps_the_copies_already_written(root: Path, tmp_path: Path) -> None:
    assert run_perturb(tmp_path, root, [record("a.mp4")], "--perturbations", '["crf32"]') == 0
    _, _, videos = outputs(tmp_path)
    written = (videos / "crf32/a.mp4").stat().st_mtime_ns
    assert run_perturb(tmp_path, root, [record("a.mp4")], "--perturbations", '["crf32"]') == 0
    assert (videos / "crf32/a.mp4").stat().st_mtime_ns == written


def test_paths_out_of_the_root_and_videos_over_the_limits_are_rejected_with_reasons(root: Path, tmp_path: Path) -> None:
    records = [record("../escape.mp4"), record("a.mp4", frames=5000), record("b.mp4")]
    assert run_perturb(tmp_path, root, records, "--perturbations", '["crf23"]', "--max-frames", "100") == 0
    copies, rejected, _ = outputs(tmp_path)
    assert [copy.id for copy in copies] == ["crf23/b"]
    reasons = {row.path: row.reason for row in rejected}
    assert "stay inside" in reasons["../escape.mp4"] and "max_frames 100" in reasons["a.mp4"]


def test_a_stream_longer_than_its_manifest_says_stops_at_the_frame_limit(root: Path, tmp_path: Path) -> None:
    assert (
        run_perturb(tmp_path, root, [record("a.mp4", frames=3)], "--perturbations", '["crf23"]', "--max-frames", "4")
        == 1
    )
    _, rejected, videos = outputs(tmp_path)
    assert "more than max_frames 4" in rejected[0].reason and not list(videos.rglob("*.mp4"))


def test_an_unknown_perturbation_is_refused_before_any_work(root: Path, tmp_path: Path) -> None:
    assert run_perturb(tmp_path, root, [record("a.mp4")], "--perturbations", '["crf99"]') == 2
    assert not (tmp_path / "processing/output/videos").exists() or not list(
        (tmp_path / "processing/output/videos").rglob("*.mp4")
    )
