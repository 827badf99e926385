import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from deepfake.components.faces.boxes import FaceBox
from deepfake.components.faces.detection import FaceDetector
from deepfake.components.faces.sampling import evenly_spaced, probe
from deepfake.pipelines.demo.dataset import (
    MARKER,
    DemoError,
    DemoOptions,
    DemoSummary,
    clip_person,
    main,
    make_demo_dataset,
)
from tests.support.media import decoded_frames

TINY = DemoOptions(
    real_videos=2, held_out=1, fakes_per_real=2, frames=8, fps=10, width=256, height=192, parts=2, seed=7
)


@pytest.fixture(scope="module")
def detector() -> Iterator[FaceDetector]:
    with FaceDetector() as detector:
        yield detector


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    return make_demo_dataset(tmp_path_factory.mktemp("demo") / "data", TINY)


def metadata(root: Path) -> dict[str, dict[str, dict[str, str | None]]]:
    return {path.parent.name: json.loads(path.read_text()) for path in sorted(root.glob("*/metadata.json"))}


def videos(root: Path) -> list[Path]:
    return sorted(root.glob("*/*.mp4"))


def fakes(root: Path) -> list[tuple[Path, Path]]:
    """(fake, original) pairs."""
    return [
        (root / part / name, root / part / entry["original"])
        for part, entries in metadata(root).items()
        for name, entry in entries.items()
        if entry["label"] == "FAKE"
    ]


def test_the_layout_and_metadata_are_dfdc(demo: DemoSummary) -> None:
    parts = metadata(demo.out)
    assert len(parts) == TINY.parts == len(demo.parts) and demo.metadata == [p / "metadata.json" for p in demo.parts]
    for part, entries in parts.items():
        assert {path.name for path in (demo.out / part).glob("*.mp4")} == set(entries)
        for entry in entries.values():
            assert set(entry) == {"label", "split", "original"} and entry["split"] in {"train", "test"}
            if entry["label"] == "REAL":
                assert entry["original"] is None
            else:
                original = entries[entry["original"]]
                assert entry["label"] == "FAKE" and original["label"] == "REAL" and original["split"] == entry["split"]
    labels = [entry["label"] for entries in parts.values() for entry in entries.values()]
    assert labels.count("REAL") == demo.real_videos == 3 and labels.count("FAKE") == demo.fake_videos == 6
    splits = Counter(entry["split"] for entries in parts.values() for entry in entries.values())
    assert splits == {"train": 6, "test": 3}, "the held-out originals and their fakes are marked test"
    assert set(Counter(original for _, original in fakes(demo.out)).values()) == {TINY.fakes_per_real}


def test_videos_decode_at_the_requested_size_frames_and_fps(demo: DemoSummary) -> None:
    for path in videos(demo.out):
        info = probe(path)
        assert (info.frames, info.fps, info.width, info.height) == (8, 10.0, 256, 192), path.name


def test_the_same_seed_gives_the_same_dataset_whatever_the_workers(demo: DemoSummary, tmp_path: Path) -> None:
    again = make_demo_dataset(tmp_path / "again", TINY.model_copy(update={"workers": 1}))
    assert metadata(again.out) == metadata(demo.out)
    for first, second in zip(videos(demo.out), videos(again.out), strict=True):
        assert np.array_equal(decoded_frames(first), decoded_frames(second)), first.name


def test_another_seed_gives_another_dataset(demo: DemoSummary, tmp_path: Path) -> None:
    other = make_demo_dataset(tmp_path / "other", TINY.model_copy(update={"seed": 8, "real_videos": 2, "parts": 1}))
    assert set(next(iter(metadata(other.out).values()))).isdisjoint(metadata(demo.out)["dfdc_train_part_0"])
    first, second = decoded_frames(videos(demo.out)[0]), decoded_frames(videos(other.out)[0])
    assert np.abs(first.astype(int) - second.astype(int)).mean() > 10


def test_a_fake_differs_from_its_original_inside_the_face_only(demo: DemoSummary, detector: FaceDetector) -> None:
    """Outside the blend mask the frames are equal before encoding; what differs there is H.264 re-encoding alone."""
    for fake, original in fakes(demo.out):
        inside, outside, far = [], [], []
        for fake_frame, real_frame in zip(decoded_frames(fake), decoded_frames(original), strict=True):
            box = detector.detect(real_frame)[0]
            difference = np.abs(fake_frame.astype(np.int16) - real_frame).mean(axis=2)
            in_box = _box_mask(box, 0.0, difference.shape)
            inside.append(difference[in_box].mean())
            outside.append(difference[~in_box].mean())
            far.append(difference[~_box_mask(box, 0.5, difference.shape)].mean())
        assert np.mean(inside) > 8, fake.name
        assert np.mean(far) < 3, fake.name
        assert np.mean(inside) > 4 * np.mean(outside), fake.name


@pytest.mark.parametrize(
    ("identity", "technique"),
    [
        ("lfw", "self_blend"),
        ("hopper", "self_blend"),
        ("cameraman", "self_blend"),
        ("astronaut", "swap"),
        ("hopper", "swap"),
    ],
)
def test_held_out_people_and_poisson_swaps_change_the_face_only_and_are_found(
    identity: str, technique: str, detector: FaceDetector, tmp_path: Path
) -> None:
    options = TINY.model_copy(update={"identity": identity, "technique": technique, "held_out": 0, "parts": 1})
    demo = make_demo_dataset(tmp_path / "held", options)
    clips = {path.name: decoded_frames(path) for path in videos(demo.out)}
    found = sum(bool(detector.detect(frame)) for frames in clips.values() for frame in frames[::2])
    # LFW's 25 px faces, upscaled, are harder to find than the astronaut's (extract-faces rejects a video with none)
    assert found >= (0.7 if identity == "lfw" else 0.9) * sum(len(frames[::2]) for frames in clips.values())
    for fake, original in fakes(demo.out):
        real_frame, fake_frame = clips[original.name][4], clips[fake.name][4]
        box = detector.detect(real_frame)[0]
        difference = np.abs(fake_frame.astype(np.int16) - real_frame).mean(axis=2)
        assert difference[_box_mask(box, 0.0, difference.shape)].mean() > 4, fake.name
        assert difference[~_box_mask(box, 0.5, difference.shape)].mean() < 3, fake.name
    if identity == "lfw":
        firsts = [frames[0] for name, frames in clips.items() if name in {o.name for _, o in fakes(demo.out)}]
        assert np.abs(firsts[0].astype(int) - firsts[1].astype(int)).mean() > 10, "each clip shows another person"


def test_faces_are_found_in_sampled_frames(demo: DemoSummary, detector: FaceDetector) -> None:
    found = total = 0
    for path in videos(demo.out):
        frames = decoded_frames(path)
        for frame in frames[evenly_spaced(len(frames), 8)]:
            found += bool(detector.detect(frame))
            total += 1
    assert total == 72 and found / total >= 0.95


def test_a_previous_demo_dataset_is_regenerated(tmp_path: Path) -> None:
    options = DemoOptions(real_videos=1, held_out=0, frames=2, width=128, height=128, parts=1, workers=1)
    first = metadata(make_demo_dataset(tmp_path, options).out)
    assert (tmp_path / MARKER).is_file()
    second = make_demo_dataset(tmp_path, options.model_copy(update={"seed": 1}))
    assert metadata(second.out) != first and len(videos(second.out)) == 2
    assert metadata(make_demo_dataset(tmp_path, options).out) == first


def test_a_foreign_folder_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DemoError, match=f"{re.escape(str(tmp_path))} is not empty.*new or empty folder"):
        make_demo_dataset(tmp_path, DemoOptions(real_videos=1, held_out=0, frames=2, parts=1))
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(
    ("update", "message"), [({"width": 255}, "multiple of 2"), ({"parts": 5, "real_videos": 4}, "must not exceed")]
)
def test_bad_options_are_refused(update: dict[str, int], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DemoOptions(**update)


def test_the_cli_prints_a_one_line_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "--out",
        str(tmp_path / "cli"),
        "--real-videos",
        "1",
        "--held-out",
        "0",
        "--frames",
        "2",
        "--size",
        "128x160",
    ]
    argv += ["--parts", "1"]
    assert main([*argv, "--seed", "3"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("wrote 1 real + 1 fake videos (2 frames, 128x160 @ 25 fps)") and "\n" not in line
    assert probe(videos(tmp_path / "cli")[0]).height == 160


def test_the_cli_refuses_a_foreign_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "keep.mp4").write_bytes(b"")
    assert main(["--out", str(tmp_path), "--real-videos", "1", "--frames", "2", "--parts", "1"]) == 2
    assert str(tmp_path) in capsys.readouterr().err


def _box_mask(box: FaceBox, margin: float, shape: tuple[int, ...]) -> np.ndarray:
    """The face box grown by `margin` of its size on each side."""
    mask = np.zeros(shape[:2], bool)
    dx, dy = round(box.width * margin), round(box.height * margin)
    mask[max(0, box.y - dy) : box.y + box.height + dy, max(0, box.x - dx) : box.x + box.width + dx] = True
    return mask


def test_the_demo_never_shows_a_held_out_person() -> None:
    people = tuple(range(3, 87))
    shown = {clip_person("mixed", people, index) for index in range(500)}
    held_out = {clip_person("lfw", people, index) for index in range(500)}
    assert 0 in shown and len(shown) == 43, "the astronaut and half of the LFW people"
    assert len(held_out) == 42 and not shown & held_out
    assert {clip_person("astronaut", people, index) for index in range(10)} == {0}
    assert [clip_person("pair", people, index) for index in range(4)] == [0, 1, 0, 1], "the astronaut, Grace Hopper"
    assert {clip_person("hopper", people, 5), clip_person("cameraman", people, 5)} == {1, 2}
