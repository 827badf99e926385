from pathlib import Path

import numpy as np
import pytest

from deepfake.components.faces.decoding import read_sampled
from deepfake.components.faces.sampling import VideoReadError, evenly_spaced
from deepfake.components.faces.video import write_h264
from tests.support.media import decoded_frames


def numbered_clip(path: Path, frames: int, gop: int = 250) -> Path:
    """Every frame its own flat grey with a bar at a frame-dependent place: no two frames decode alike."""

    def frame(index: int) -> np.ndarray:
        pixels = np.full((64, 96, 3), 30 + (index * 7) % 200, np.uint8)
        pixels[:, (index * 3) % 90 : (index * 3) % 90 + 6] = 255
        return pixels

    write_h264(path, (frame(index) for index in range(frames)), gop=gop)
    return path


def assert_frames_are(path: Path, indices: list[int], pixels: np.ndarray) -> None:
    """Decoding every frame, nothing skipped, is the reference for what the indices claim."""
    expected = decoded_frames(path, indices)
    assert np.abs(expected.astype(int) - pixels.astype(int)).max() <= 1


def test_sparse_samples_move_to_a_decoded_neighbour_and_name_the_frame_decoded(tmp_path: Path) -> None:
    clip = numbered_clip(tmp_path / "a.mp4", 100)
    wanted = evenly_spaced(100, 10)
    sampled = read_sampled(clip, wanted)
    assert len(sampled.indices) == len(wanted) == len(set(sampled.indices))
    assert all(abs(found - sample) <= 2 for found, sample in zip(sampled.indices, wanted, strict=True))
    assert sampled.indices != wanted  # x264's non-reference B-frames were skipped, and samples on them moved
    assert sampled.pixels.shape == (10, 64, 96, 3) and sampled.pixels.dtype == np.uint8
    assert_frames_are(clip, sampled.indices, sampled.pixels)


def test_dense_samples_decode_every_frame_and_keep_their_indices(tmp_path: Path) -> None:
    clip = numbered_clip(tmp_path / "a.mp4", 12)
    sampled = read_sampled(clip, [1, 3, 5, 7, 9, 11])
    assert sampled.indices == [1, 3, 5, 7, 9, 11]
    assert_frames_are(clip, sampled.indices, sampled.pixels)


def test_a_sample_far_ahead_is_reached_by_seeking_to_the_keyframe_before_it(tmp_path: Path) -> None:
    clip = numbered_clip(tmp_path / "a.mp4", 600, gop=50)
    sampled = read_sampled(clip, [10, 300, 590])
    assert all(abs(found - sample) <= 2 for found, sample in zip(sampled.indices, [10, 300, 590], strict=True))
    assert_frames_are(clip, sampled.indices, sampled.pixels)


def test_samples_past_the_end_take_the_last_frame_once(tmp_path: Path) -> None:
    clip = numbered_clip(tmp_path / "a.mp4", 20)
    sampled = read_sampled(clip, [0, 10, 40, 50])
    assert sampled.indices[:2] == [0, 10] and sampled.indices[-1] == 19 and len(sampled.indices) == 3
    assert_frames_are(clip, sampled.indices, sampled.pixels)


@pytest.mark.parametrize("cut", [0.5, 0.0])
def test_an_undecodable_file_is_a_read_error_with_its_reason(tmp_path: Path, cut: float) -> None:
    data = numbered_clip(tmp_path / "a.mp4", 30).read_bytes()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(data[: int(len(data) * cut)] if cut else b"not a video" * 100)
    with pytest.raises(VideoReadError, match="truncated or corrupt stream"):
        read_sampled(broken, [0, 10, 20])
