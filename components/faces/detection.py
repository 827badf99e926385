"""Face detection with the MediaPipe Tasks FaceDetector (BlazeFace), adapted to small faces in large frames.

Measured on 1080p frames (bench and tests): the full-range model on the whole frame finds faces from ~120 px tall in
~12 ms but misses many at 64-80 px; the short-range model on 480 px tiles with 50% overlap finds every face from 56 px
in ~125 ms. So the whole frame goes first and tiles only when it finds nothing.

Within a video a face moves little between sampled frames: given the previous frame's faces, the short-range model
on a region three times each one's size finds it again in ~3 ms (and at a higher effective resolution). The whole
frame is searched as well when fewer faces were found that way than are wanted (by a tracker: only every few frames
while every face it follows is found again, see `faces/tracking.py`), or none. A call costs MediaPipe about the same
whatever the image's size (720p: ~1.5 ms the short-range model, ~3.7 ms the full-range one, 16 px images included),
so what saves time is fewer calls, not smaller images. Each face carries
BlazeFace's six keypoints (right eye, left eye, nose tip, mouth centre, right ear, left ear: the person's own right
and left) in frame pixels; `faces/tracking.py` links the faces of consecutive frames into people.
"""

import os
from collections.abc import Sequence

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

from mediapipe import Image, ImageFormat
from mediapipe.tasks.python import BaseOptions
from mediapipe.tasks.python.vision import FaceDetector as MediaPipeDetector
from mediapipe.tasks.python.vision import FaceDetectorOptions

from deepfake.components.faces.boxes import FaceBox
from deepfake.components.faces.weights import ModelName, model_path

ROI_SCALE = 3
ROI_MIN_SIDE = 128


class FaceDetector:
    """Not thread-safe (MediaPipe graphs are not): make one a worker process. Use as a context manager."""

    def __init__(self, min_score: float = 0.5, tile_size: int = 480) -> None:
        self.tile_size = tile_size
        self._whole = _create("full_range", min_score)
        self._tiles = _create("short_range", min_score)

    def detect(
        self,
        frame: np.ndarray,
        near: Sequence[FaceBox] = (),
        max_faces: int = 1,
        look_for_new: bool = True,
        lost: Sequence[FaceBox] = (),
    ) -> list[FaceBox]:
        """Up to `max_faces` faces in an RGB uint8 frame, best first. `near` (the last frame's faces) and `lost`
        (faces missed since) are looked for in their regions first; the whole frame is searched only when that found
        fewer than `max_faces` and either `look_for_new` or some of `near` were not found again. A `lost` face
        had its whole-frame search on the frame it was first missed, so it does not force another."""
        found_near = [face for face in (self._find_near(frame, face) for face in near) if face is not None]
        found_lost = [face for face in (self._find_near(frame, face) for face in lost) if face is not None]
        faces = suppress_overlaps(found_near + found_lost)
        if len(faces) < max_faces and (look_for_new or len(found_near) < len(near)):
            height, width = frame.shape[:2]
            whole = _run(self._whole, frame, 0, 0)
            if not whole and not faces and max(height, width) > self.tile_size:
                for top, left in tile_origins(height, width, self.tile_size):
                    tile = frame[top : top + self.tile_size, left : left + self.tile_size]
                    whole.extend(_run(self._tiles, tile, left, top))
            faces = suppress_overlaps(faces + whole)
        return faces[:max_faces]

    def _find_near(self, frame: np.ndarray, face: FaceBox) -> FaceBox | None:
        """The best face in a region `ROI_SCALE` times `face`'s size about it, kept inside the frame."""
        height, width = frame.shape[:2]
        side = max(ROI_MIN_SIDE, ROI_SCALE * max(face.width, face.height))
        centre_x, centre_y = face.centre
        left = int(min(max(0, centre_x - side / 2), max(0, width - side)))
        top = int(min(max(0, centre_y - side / 2), max(0, height - side)))
        found = suppress_overlaps(_run(self._tiles, frame[top : top + side, left : left + side], left, top))
        return found[0] if found else None

    def close(self) -> None:
        self._whole.close()
        self._tiles.close()

    def __enter__(self) -> "FaceDetector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def tile_origins(height: int, width: int, tile: int) -> list[tuple[int, int]]:
    """Top-left corners of tiles with 50% overlap that cover the frame, the last row and column flush."""

    def starts(extent: int) -> list[int]:
        if extent <= tile:
            return [0]
        positions = list(range(0, extent - tile + 1, tile // 2))
        if positions[-1] + tile < extent:
            positions.append(extent - tile)
        return positions

    return [(top, left) for top in starts(height) for left in starts(width)]


def suppress_overlaps(faces: list[FaceBox], threshold: float = 0.3) -> list[FaceBox]:
    kept: list[FaceBox] = []
    for face in sorted(faces, key=lambda face: face.score, reverse=True):
        if all(face.iou(other) < threshold for other in kept):
            kept.append(face)
    return kept


def _create(name: ModelName, min_score: float) -> MediaPipeDetector:
    options = FaceDetectorOptions(
        base_options=BaseOptions(model_asset_path=str(model_path(name))), min_detection_confidence=min_score
    )
    return MediaPipeDetector.create_from_options(options)


def _run(detector: MediaPipeDetector, image: np.ndarray, left: int, top: int) -> list[FaceBox]:
    result = detector.detect(Image(image_format=ImageFormat.SRGB, data=np.ascontiguousarray(image)))
    height, width = image.shape[:2]
    faces = []
    for detection in result.detections:
        box = detection.bounding_box
        score = float(detection.categories[0].score) if detection.categories else 0.0
        keypoints = tuple(
            (round(point.x * width + left, 2), round(point.y * height + top, 2)) for point in detection.keypoints or ()
        )
        faces.append(
            FaceBox(box.origin_x + left, box.origin_y + top, box.width, box.height, min(score, 1.0), keypoints)
        )
    return faces
