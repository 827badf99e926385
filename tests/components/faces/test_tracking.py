"""Keypoints, aligned crops and tracks, on real detections of synthetic frames."""

import math
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from deepfake.components.faces import detection
from deepfake.components.faces.boxes import FaceBox
from deepfake.components.faces.crop import face_crop
from deepfake.components.faces.detection import FaceDetector
from deepfake.components.faces.tracking import NEW_FACE_EVERY, FaceTracker, track_faces
from deepfake.components.manifests import FaceRecord, read_jsonl, write_jsonl
from tests.support.media import face_frame, two_people


@pytest.fixture(scope="module")
def detector() -> Iterator[FaceDetector]:
    with FaceDetector() as found:
        yield found


def eye_angle(points: tuple[tuple[float, float], ...] | list[tuple[float, float]]) -> float:
    (right_x, right_y), (left_x, left_y) = points[:2]
    return math.degrees(math.atan2(left_y - right_y, left_x - right_x))


def rotated(frame: np.ndarray, degrees: float) -> np.ndarray:
    height, width = frame.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(frame, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)


def test_each_face_has_six_keypoints_in_frame_pixels_with_the_eyes_inside_its_box(detector: FaceDetector) -> None:
    (face,) = detector.detect(face_frame(320, 240, 80, 100, 40))
    assert len(face.keypoints) == 6
    for x, y in face.keypoints[:2]:
        assert face.x <= x <= face.x + face.width and face.y <= y <= face.y + face.height
    assert face.keypoints[0][0] < face.keypoints[1][0], "the person's right eye is on the image's left"


def test_alignment_levels_the_eyes_of_a_tilted_face(detector: FaceDetector) -> None:
    upright = face_frame(320, 320, 90, 90, 80)
    for tilt in (-20.0, 15.0):
        (face,) = detector.detect(rotated(upright, tilt))
        assert abs(eye_angle(face.keypoints) + tilt) < 4, "cv2 turns a positive angle anticlockwise"
        crop, points = face_crop(rotated(upright, tilt), face, margin=0.3, size=96, align=True)
        assert crop.shape == (96, 96, 3) and abs(eye_angle(points)) < 0.5
        (again,) = detector.detect(np.ascontiguousarray(cv2.resize(crop, (192, 192))))
        assert abs(eye_angle(again.keypoints)) < 5, "the crop itself shows level eyes (to BlazeFace's few degrees)"
        _, unaligned = face_crop(rotated(upright, tilt), face, margin=0.3, size=96, align=False)
        assert abs(eye_angle(unaligned) + tilt) < 4


def test_keypoints_round_trip_through_the_manifest(tmp_path) -> None:
    row = FaceRecord(
        video_id="v",
        frame_index=3,
        image="faces/v/000003-1.jpg",
        box=(10, 20, 30, 30),
        score=0.9,
        label=1,
        group="v",
        track=1,
        keypoints=((12.5, 25.25), (30.0, 25.0), (21.0, 33.0), (21.0, 40.0), (10.0, 30.0), (39.0, 30.0)),
        crop_keypoints=((20.0, 30.0), (50.0, 30.0), (35.0, 45.0), (35.0, 58.0), (5.0, 35.0), (66.0, 35.0)),
    )
    write_jsonl(tmp_path / "faces.jsonl", [row])
    assert read_jsonl(tmp_path / "faces.jsonl", FaceRecord) == [row]
    (tmp_path / "old.jsonl").write_text(row.model_dump_json(exclude={"track", "keypoints", "crop_keypoints"}) + "\n")
    (old,) = read_jsonl(tmp_path / "old.jsonl", FaceRecord)
    assert old.track == 0 and old.keypoints == () and old.crop_keypoints == ()


def test_two_people_are_two_tracks_and_a_missed_frame_keeps_each_persons_track(detector: FaceDetector) -> None:
    frames = [two_people(0), two_people(4, hide_right=True), two_people(8), two_people(12)]
    tracked = track_faces(detector, frames, max_faces=4)
    assert [len(faces) for faces in tracked] == [2, 1, 2, 2]
    side = {person.track: person.face.x >= 320 for faces in tracked for person in faces}
    assert sorted(side.values()) == [False, True], "one track a side"
    for faces in tracked:
        for person in faces:
            assert (person.face.x >= 320) == side[person.track]


def test_one_face_a_frame_follows_the_best_face_as_before(detector: FaceDetector) -> None:
    tracked = track_faces(detector, [two_people(shift) for shift in (0, 4, 8)], max_faces=1)
    assert [len(faces) for faces in tracked] == [1, 1, 1]
    assert {person.track for faces in tracked for person in faces} == {0}


def test_a_person_who_walks_in_is_found_at_the_next_whole_frame_search(detector: FaceDetector) -> None:
    """While the left person is followed, the whole frame is searched every NEW_FACE_EVERY frames, not each frame."""
    frames = [two_people(0, hide_right=True)] + [two_people(2 * index) for index in range(1, NEW_FACE_EVERY + 2)]
    tracked = track_faces(detector, frames, max_faces=4)
    assert [len(faces) for faces in tracked] == [1] * NEW_FACE_EVERY + [2] * (len(frames) - NEW_FACE_EVERY)
    assert {person.track for person in tracked[NEW_FACE_EVERY]} == {0, 1}


def test_a_face_that_is_lost_forces_one_whole_frame_search_not_one_a_missed_frame(
    detector: FaceDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The person leaves after two frames: the frame they are first missed on searches the whole frame; the next ones
    look for them in their region only, until the periodic search."""
    searched: list[int] = []
    run = detection._run
    tracker = FaceTracker(detector, max_faces=4)

    def counting(model: object, image: np.ndarray, left: int, top: int) -> list[FaceBox]:
        if model is detector._whole:
            searched.append(tracker.frames - 1)  # the frame being detected: update counts it first
        return run(model, image, left, top)

    monkeypatch.setattr(detection, "_run", counting)
    empty = np.full((240, 640, 3), 60, np.uint8)
    for frame in [two_people(0, hide_right=True), two_people(2, hide_right=True)] + [empty] * 4:
        tracker.update(frame)
    assert searched == [0, 2], "frame 0 (nothing followed yet) and frame 2 (the person first missed), not 3 or 4"
