"""Faces across a video's sampled frames, linked into tracks: one track a person, so a verdict can be one a person.

The frames are seconds apart at most, so a person's face overlaps itself from one sampled frame to the next (IoU),
or at least stays close to where its keypoints were. Faces are matched to the live tracks greedily, best match
first; a face that matches none starts a track. A track may miss up to `MAX_MISSES` sampled frames (a turned head,
a blink of the detector) and still take its person back.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from deepfake.components.faces.boxes import FaceBox
from deepfake.components.faces.detection import FaceDetector

MAX_MISSES = 2
NEW_FACE_EVERY = 8
"""While every followed face is found again near where it was, the whole frame is searched for new ones only every
this many frames: a person who walks in is found at most 7 sampled frames late (2.2 s at 32 frames in 10 s), and the
frames between cost a small region's detection each (~1.5 ms) instead of a whole frame's as well (~3.7 ms)."""
MIN_IOU = 0.2
MAX_KEYPOINT_SHIFT = 0.5  # mean keypoint distance over the face's side


@dataclass(frozen=True)
class TrackedFace:
    track: int
    face: FaceBox


@dataclass
class _Track:
    number: int
    last: FaceBox
    missed: int = 0


class FaceTracker:
    """Detects one frame's faces after another (a video's, in order) and links each to its person's track."""

    def __init__(self, detector: FaceDetector, max_faces: int = 4) -> None:
        self.detector, self.max_faces = detector, max_faces
        self.tracks: list[_Track] = []
        self.frames = 0

    def update(self, frame: np.ndarray) -> list[TrackedFace]:
        """The frame's faces (up to `max_faces`, best first), each with its track."""
        live = [track for track in self.tracks if track.missed <= MAX_MISSES]
        look_for_new = self.frames % NEW_FACE_EVERY == 0
        self.frames += 1
        faces = self.detector.detect(
            frame,
            near=[track.last for track in live if not track.missed],
            max_faces=self.max_faces,
            look_for_new=look_for_new,
            lost=[track.last for track in live if track.missed],
        )
        matched = link(live, faces)
        for track in live:
            track.missed += 1
        frame_faces = []
        for index, face in enumerate(faces):
            if index in matched:
                track = matched[index]
            else:
                track = _Track(number=len(self.tracks), last=face)
                self.tracks.append(track)
            track.last, track.missed = face, 0
            frame_faces.append(TrackedFace(track=track.number, face=face))
        return frame_faces


def track_faces(detector: FaceDetector, frames: Iterable[np.ndarray], max_faces: int = 4) -> list[list[TrackedFace]]:
    """The faces of each frame (up to `max_faces`, best first), each with its track; the frames are one video's."""
    tracker = FaceTracker(detector, max_faces)
    return [tracker.update(frame) for frame in frames]


def link(tracks: list[_Track], faces: list[FaceBox]) -> dict[int, _Track]:
    """Face index → the track it continues, best matches first, each track and face used once."""
    pairs = []
    for face_index, face in enumerate(faces):
        for track in tracks:
            strength = similarity(track.last, face)
            if strength is not None:
                pairs.append((strength, -track.number, face_index, track))
    matched: dict[int, _Track] = {}
    taken: set[int] = set()
    for _, _, face_index, track in sorted(pairs, key=lambda pair: pair[:3], reverse=True):
        if face_index not in matched and track.number not in taken:
            matched[face_index] = track
            taken.add(track.number)
    return matched


def similarity(before: FaceBox, after: FaceBox) -> float | None:
    """IoU when the boxes overlap enough (1 + IoU, so any overlap beats keypoints alone), else how little the
    keypoints moved (in (0, 1]), else None: not the same face."""
    overlap = before.iou(after)
    if overlap >= MIN_IOU:
        return 1 + overlap
    if len(before.keypoints) == len(after.keypoints) > 0:
        side = max(before.width, before.height, after.width, after.height, 1)
        shift = np.mean([math.dist(a, b) for a, b in zip(before.keypoints, after.keypoints, strict=True)]) / side
        if shift <= MAX_KEYPOINT_SHIFT:
            return float(1 - shift)
    return None
