import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from deepfake.components.extract_faces.component import COMPONENT
from deepfake.components.face_crops import MEMBER_SEPARATOR, FaceCrops
from deepfake.components.manifests import RejectedVideo, VideoRecord, read_jsonl, write_jsonl
from deepfake.components.runtime import main
from tests.support.faces import read_faces
from tests.support.media import blank_clip, face_clip, two_people_clip


def record(path: str, label: int = 0, group: str | None = None, split: str | None = None) -> VideoRecord:
    video_id = path.rsplit(".", 1)[0]
    return VideoRecord(
        id=video_id,
        path=path,
        label=label,
        group=group or video_id,
        source_split=split,
        dataset="csv",
        frames=10,
        fps=25,
        width=320,
        height=240,
        duration_s=0.4,
    )


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[VideoRecord]]:
    """Five good face clips, a blank clip, a corrupt file, a large-frame clip, a missing file and an escaping path."""
    root = tmp_path_factory.mktemp("videos")
    records = []
    for index in range(5):
        face_clip(root / f"real/{index}.mp4", frames=12, face_height=50 + 5 * index)
        records.append(record(f"real/{index}.mp4", label=index % 2, group=f"real/{index % 3}", split="train"))
    blank_clip(root / "blank.mp4")
    (root / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 200)
    face_clip(root / "large.mp4", frames=6, width=640, height=480, face_height=90)
    records += [record("blank.mp4"), record("corrupt.mp4"), record("large.mp4"), record("missing.mp4")]
    records.append(record("../outside.mp4"))
    return root, records


def run_extraction(
    base: Path,
    root: Path,
    records: list[VideoRecord],
    *args: str,
    hosts: int = 1,
    host: int = 1,
    max_frame_pixels: int = 100_000,
) -> int:
    manifest = base / "processing/input/manifest"
    manifest.mkdir(parents=True)
    write_jsonl(manifest / "videos.jsonl", records)
    write_jsonl(manifest / "rejected.jsonl", [])
    (base / "processing/input/videos").symlink_to(root, target_is_directory=True)
    names = [f"algo-{index}" for index in range(1, hosts + 1)]
    (base / "config").mkdir(parents=True)
    (base / "config/resourceconfig.json").write_text(json.dumps({"current_host": f"algo-{host}", "hosts": names}))
    os.environ["SAGEMAKER_BASE_DIR"] = str(base)
    before = dict(os.environ)
    try:
        limit = str(max_frame_pixels)
        return main(COMPONENT, ["--frames-per-video", "4", "--face-size", "64", "--max-frame-pixels", limit, *args])
    finally:
        os.environ.clear()
        os.environ.update(before)  # run() turned DNS off for the process (RES_OPTIONS): not for the other tests
        del os.environ["SAGEMAKER_BASE_DIR"]


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory, dataset: tuple[Path, list[VideoRecord]]) -> Path:
    base = tmp_path_factory.mktemp("single")
    assert run_extraction(base, *dataset, "--workers", "2") == 0
    return base / "processing/output/faces"


def test_every_video_is_accounted_for_with_a_reason(single: Path, dataset: tuple[Path, list[VideoRecord]]) -> None:
    summary = json.loads((single / "summary.json").read_text())
    assert summary["total"] == len(dataset[1]) == 10
    assert summary["processed"] + summary["rejected"] == summary["total"]
    assert summary["processed"] == 5
    reasons = {row.path: row.reason for row in read_jsonl(single / "rejected.jsonl", RejectedVideo)}
    assert reasons["blank.mp4"] == "no face found in any of the 4 sampled frames"
    assert reasons["corrupt.mp4"] == "unreadable video: Invalid data found when processing input"  # FFmpeg's, no path
    assert reasons["large.mp4"].startswith("resolution 640x480 is over the limit of 100000 pixels")
    assert reasons["missing.mp4"] == "missing file missing.mp4"
    assert "stay inside the dataset root" in reasons["../outside.mp4"]


def test_each_face_row_points_at_a_crop_of_the_requested_size(single: Path) -> None:
    faces = read_faces(single)
    assert len(faces) == 20
    assert {face.video_id for face in faces} == {f"real/{index}" for index in range(5)}
    for face in faces:
        image = cv2.imread(str(single / face.image))
        assert image.shape == (64, 64, 3)
        assert face.source_split == "train" and face.score >= 0.5
    by_video = {face.video_id: face for face in faces}
    assert by_video["real/1"].label == 1 and by_video["real/4"].group == "real/1"
    assert [face.frame_index for face in faces if face.video_id == "real/0"] == [1, 4, 7, 10]


def test_shards_together_equal_a_single_instance_run(
    tmp_path: Path, single: Path, dataset: tuple[Path, list[VideoRecord]]
) -> None:
    shard_rows = []
    for host in (1, 2, 3):
        base = tmp_path / f"host-{host}"
        assert run_extraction(base, *dataset, "--workers", "1", hosts=3, host=host) == 0
        output = base / "processing/output/faces"
        assert not (output / "faces.jsonl").exists() and (output / f"faces-algo-{host}.jsonl").is_file()
        for face in read_faces(output):
            assert (output / face.image).read_bytes() == (single / face.image).read_bytes()
            shard_rows.append(face)
    assert sorted(shard_rows, key=lambda face: (face.video_id, face.frame_index)) == read_faces(single)


def test_sharded_by_s3_key_takes_the_files_each_host_was_given(
    tmp_path: Path, single: Path, dataset: tuple[Path, list[VideoRecord]]
) -> None:
    root, records = dataset
    given = tmp_path / "given"
    for name in ("real/0.mp4", "real/3.mp4"):
        (given / name).parent.mkdir(parents=True, exist_ok=True)
        (given / name).write_bytes((root / name).read_bytes())
    base = tmp_path / "host"
    assert run_extraction(base, given, records, "--input-distribution", "ShardedByS3Key", hosts=2, host=2) == 0
    output = base / "processing/output/faces"
    assert {face.video_id for face in read_faces(output)} == {"real/0", "real/3"}
    assert json.loads((output / "summary-algo-2.json").read_text())["total"] == 2


def test_a_share_with_no_face_at_all_fails_with_the_reasons(tmp_path: Path) -> None:
    root = tmp_path / "videos"
    blank_clip(root / "blank.mp4")
    assert run_extraction(tmp_path / "base", root, [record("blank.mp4")]) == 1
    message = (tmp_path / "base/output/message").read_text()
    assert "no face found in any of the 1 videos" in message and "blank.mp4" in message


@pytest.mark.slow  # a whole run or compile in a subprocess
def test_a_killed_run_resumes_to_the_same_manifest(
    tmp_path: Path, single: Path, dataset: tuple[Path, list[VideoRecord]]
) -> None:
    base = tmp_path / "killed"
    root, records = dataset
    manifest = base / "processing/input/manifest"
    manifest.mkdir(parents=True)
    write_jsonl(manifest / "videos.jsonl", records)
    write_jsonl(manifest / "rejected.jsonl", [])
    (base / "processing/input/videos").symlink_to(root, target_is_directory=True)
    command = [
        sys.executable,
        "-m",
        "deepfake.components.extract_faces",
        "--frames-per-video",
        "4",
        "--face-size",
        "64",
        "--max-frame-pixels",
        "100000",
        "--workers",
        "1",
    ]
    env = {**os.environ, "SAGEMAKER_BASE_DIR": str(base)}
    parts = base / "processing/output/faces/parts"
    for kill_after in (1, 4):
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if parts.is_dir() and len(list(parts.glob("*.json"))) >= kill_after:
                break
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert len(list(parts.glob("*.json"))) < len(records), "the run finished before it could be killed"
    assert subprocess.run(command, env=env, capture_output=True, check=False).returncode == 0
    output = base / "processing/output/faces"
    assert read_faces(output) == read_faces(single)
    assert (output / "rejected.jsonl").read_text() == (single / "rejected.jsonl").read_text()
    assert not list(output.rglob(".*.tmp"))
    for face in read_faces(output):
        assert (output / face.image).read_bytes() == (single / face.image).read_bytes()


def test_a_second_run_on_the_same_inputs_writes_the_same_bytes(
    single: Path, dataset: tuple[Path, list[VideoRecord]], tmp_path: Path
) -> None:
    """The step cache hashes outputs: anything run-dependent (a time) would stop every later step being reused."""
    assert run_extraction(tmp_path, *dataset, "--workers", "1") == 0
    again = tmp_path / "processing/output/faces"
    names = sorted(path.relative_to(single).as_posix() for path in single.rglob("*") if path.is_file())
    assert names == sorted(path.relative_to(again).as_posix() for path in again.rglob("*") if path.is_file())
    assert all((single / name).read_bytes() == (again / name).read_bytes() for name in names)


@pytest.mark.timeout(60)
def test_manifest_paths_that_lead_out_block_or_loop_are_rejected_not_opened(tmp_path: Path) -> None:
    root = tmp_path / "videos"
    face_clip(root / "ok.mp4", frames=6, face_height=60)
    os.mkfifo(root / "pipe.mp4")
    (root / "zero.mp4").symlink_to("/dev/zero")
    (root / "loop.mp4").symlink_to(root / "loop.mp4")
    records = [record(name) for name in ("ok.mp4", "pipe.mp4", "zero.mp4", "loop.mp4")]
    assert run_extraction(tmp_path / "base", root, records) == 0
    faces_dir = tmp_path / "base/processing/output/faces"
    rejected = {row.path: row.reason for row in read_jsonl(faces_dir / "rejected.jsonl", RejectedVideo)}
    assert "not a regular file" in rejected["pipe.mp4"]
    assert "outside the dataset root" in rejected["zero.mp4"]
    assert "symlink loop" in rejected["loop.mp4"]
    assert {face.video_id for face in read_faces(faces_dir)} == {"ok"}


def test_a_clip_of_two_people_gives_a_track_each_with_keypoints_in_frame_and_crop(tmp_path: Path) -> None:
    root = tmp_path / "videos"
    two_people_clip(root / "two.mp4")
    assert run_extraction(tmp_path / "job", root, [record("two.mp4", label=1)], max_frame_pixels=200_000) == 0
    faces = read_faces(tmp_path / "job/processing/output/faces")
    assert len(faces) == 8 and len({face.image for face in faces}) == 8
    sides = {face.track: face.box[0] >= 320 for face in faces}
    assert sorted(sides.values()) == [False, True]
    for face in faces:
        assert (face.box[0] >= 320) == sides[face.track]
        assert len(face.keypoints) == len(face.crop_keypoints) == 6
        assert all(0 <= coordinate <= 64 for point in face.crop_keypoints[:4] for coordinate in point)


def test_shards_hold_the_same_crops_the_loose_layout_has_and_a_rerun_changes_nothing(
    tmp_path: Path, single: Path, dataset: tuple[Path, list[VideoRecord]]
) -> None:
    base = tmp_path / "sharded"
    assert run_extraction(base, *dataset, "--workers", "1", "--shard-size", "6", hosts=2, host=1) == 0
    output = base / "processing/output/faces"
    faces = read_faces(output)
    assert sorted(path.name for path in (output / "shards").iterdir()) == ["algo-1-00000.tar", "algo-1-00001.tar"]
    assert not (output / "faces").exists(), "the loose crops are gone once packed"
    assert json.loads((output / "summary-algo-1.json").read_text())["shards"] == 2
    crops = FaceCrops(output)
    loose = {face.image: face for face in read_faces(single)}
    for face in faces:
        shard, _, member = face.image.partition(MEMBER_SEPARATOR)
        assert shard.startswith("shards/algo-1-") and crops.exists(face.image)
        assert crops.open(face.image).read() == (single / member).read_bytes()
        assert face == loose[member].model_copy(update={"image": face.image})
    manifest = (output / "faces-algo-1.jsonl").read_bytes()
    assert run_extraction(tmp_path / "again", *dataset, "--workers", "1", "--shard-size", "6", hosts=2, host=1) == 0
    again = tmp_path / "again/processing/output/faces"
    assert (again / "faces-algo-1.jsonl").read_bytes() == manifest
    assert (again / "shards/algo-1-00000.tar").read_bytes() == (output / "shards/algo-1-00000.tar").read_bytes()


def test_a_finished_sharded_run_rerun_only_tidies_up(tmp_path: Path, dataset: tuple[Path, list[VideoRecord]]) -> None:
    base = tmp_path / "sharded"
    assert run_extraction(base, *dataset, "--workers", "1", "--shard-size", "50") == 0
    output = base / "processing/output/faces"
    shard = (output / "shards/algo-1-00000.tar").read_bytes()
    stray = output / "faces/real/0/000001-0.jpg"  # as if the run had stopped before removing it
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"left over")
    os.environ.pop("RES_OPTIONS", None)
    (base / "processing/input/manifest").rename(tmp_path / "manifest")
    (base / "processing/input/videos").unlink()
    (base / "config").rename(tmp_path / "config")
    assert run_extraction(base, *dataset, "--workers", "1", "--shard-size", "50") == 0
    assert not stray.exists() and (output / "shards/algo-1-00000.tar").read_bytes() == shard
