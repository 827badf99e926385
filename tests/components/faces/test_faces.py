import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from deepfake.components.faces.boxes import FaceBox
from deepfake.components.faces.crop import encode_jpeg, face_crop, square_crop
from deepfake.components.faces.detection import FaceDetector, suppress_overlaps, tile_origins
from deepfake.components.faces.sampling import VideoReadError, evenly_spaced, probe
from tests.support.media import blank_clip, decoded_frames, face_clip, face_frame


@pytest.fixture(scope="module")
def detector():
    with FaceDetector() as detector:
        yield detector


def test_probe_reads_the_real_stream(tmp_path: Path) -> None:
    for name in ("a.mp4", "a.mkv", "a.mov", "a.avi"):  # MP4 and MOV keep a frame index, Matroska and AVI do not
        info = probe(face_clip(tmp_path / name, frames=40, fps=20))
        assert (info.frames, info.fps, info.width, info.height) == (40, 20.0, 320, 240), name
        assert info.duration_s == 2.0


def test_evenly_spaced_indices() -> None:
    assert evenly_spaced(100, 4) == [12, 37, 62, 87]
    assert evenly_spaced(3, 8) == [0, 1, 2]


@pytest.mark.parametrize(
    ("content", "reason"), [(b"", "empty file"), (b"not a video at all" * 100, "unreadable video")]
)
def test_bad_files_are_refused_with_a_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoReadError, match=reason):
        probe(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(VideoReadError, match="missing file"):
        probe(tmp_path / "none.mp4")


@pytest.mark.parametrize("face_height", [64, 90, 200])
def test_faces_from_64_px_are_found_in_a_1080p_frame(detector: FaceDetector, face_height: int) -> None:
    frame = face_frame(1920, 1080, face_height, x=1100, y=500)
    faces = detector.detect(frame)
    assert faces, f"no face of {face_height} px found"
    best = faces[0]
    assert abs(best.height - face_height) < 0.5 * face_height
    assert 1100 < best.x < 1100 + face_height / 0.195


def test_no_face_in_a_blank_frame(detector: FaceDetector, tmp_path: Path) -> None:
    frame = decoded_frames(blank_clip(tmp_path / "b.mp4"), [5])[0]
    assert detector.detect(frame) == []


def test_tiles_cover_the_frame_with_overlap() -> None:
    origins = tile_origins(1080, 1920, 480)
    covered = np.zeros((1080, 1920), bool)
    for top, left in origins:
        covered[top : top + 480, left : left + 480] = True
    assert covered.all()
    assert tile_origins(300, 400, 480) == [(0, 0)]


def test_overlapping_boxes_keep_the_best() -> None:
    strong, weak, apart = FaceBox(0, 0, 10, 10, 0.9), FaceBox(1, 1, 10, 10, 0.6), FaceBox(50, 50, 10, 10, 0.7)
    assert suppress_overlaps([weak, apart, strong]) == [strong, apart]


def test_square_crop_is_centred_and_padded_at_edges() -> None:
    frame = np.zeros((100, 100, 3), np.uint8)
    frame[0:20, 0:20] = 255
    crop = square_crop(frame, FaceBox(0, 0, 20, 20, 0.9), margin=0.5, size=40)
    assert crop.shape == (40, 40, 3)
    assert crop[20, 20].tolist() == [255, 255, 255]
    assert encode_jpeg(crop)[:2] == b"\xff\xd8"


@pytest.mark.parametrize("eye_distance", [40.0, 120.0])  # a 160 px side to 112: 1.4x down (one warp); 480: 4.3x
def test_an_aligned_crops_keypoints_lie_on_the_features_they_mark(eye_distance: float) -> None:
    centre, tilt = np.array([320.0, 300.0]), math.radians(12)
    along, down = np.array([math.cos(tilt), math.sin(tilt)]), np.array([-math.sin(tilt), math.cos(tilt)])
    marks = [centre - along * eye_distance / 2, centre + along * eye_distance / 2, centre + down * eye_distance / 2]
    frame = np.zeros((640, 640, 3), np.uint8)
    dot = max(2, round(eye_distance / 20))
    for x, y in marks:
        cv2.circle(frame, (round(x * 16), round(y * 16)), dot * 16, (255, 255, 255), -1, cv2.LINE_AA, shift=4)
    face = FaceBox(260, 240, 120, 120, 0.9, tuple((float(x), float(y)) for x, y in marks))
    crop, points = face_crop(frame, face, margin=0.3, size=112, align=True)
    grey = crop[..., 0].astype(np.float64)
    for x, y in points:
        window = np.s_[round(y) - 5 : round(y) + 6, round(x) - 5 : round(x) + 6]
        rows, cols = np.mgrid[window]
        weights = grey[window]
        assert weights.sum() > 0, "the mark is in the crop"
        found = ((cols * weights).sum() / weights.sum(), (rows * weights).sum() / weights.sum())
        assert math.dist(found, (x, y)) < 0.5, f"the keypoint ({x}, {y}) is off its mark at {found}"
    assert abs(points[0][1] - points[1][1]) < 0.01, "the eyes are level"


def test_a_hint_finds_the_face_near_its_last_position(detector: FaceDetector) -> None:
    frame = face_frame(1920, 1080, 150, x=900, y=400)
    found = detector.detect(frame)[0]
    moved = face_frame(1920, 1080, 150, x=930, y=410)
    tracked = detector.detect(moved, near=[found])[0]
    assert abs(tracked.x - found.x - 30) < 15 and abs(tracked.y - found.y - 10) < 15


def test_a_stale_hint_falls_back_to_the_full_search(detector: FaceDetector) -> None:
    frame = face_frame(1920, 1080, 150, x=100, y=100)
    faces = detector.detect(frame, near=[FaceBox(1500, 800, 150, 150, 0.9)])
    assert faces and faces[0].x < 400
