"""Square face crops with a margin, padded at frame edges so the face stays centred; aligned on the eyes or not.

Training, evaluation, batch scoring and serving all crop here, so a model always sees the crops it was trained on.
"""

import math

import cv2
import numpy as np

from deepfake.components.faces.boxes import FaceBox, Point

# A BlazeFace box is about this many eye distances wide (measured on the test faces, 66-151 px: 2.32-2.67): an
# aligned crop is scaled by the eye distance, which, unlike the box, does not grow when the head is tilted.
BOX_PER_EYE_DISTANCE = 2.5
DEFAULT_MARGIN = 0.3  # context around the face box on each side, as a fraction of its side
DIRECT_WARP_MAX_DOWNSCALE = 2.0
"""Up to this much smaller, one bilinear warp straight to the output size, as face-alignment crops are commonly made
(at 2x its four taps average each output pixel's footprint, as INTER_AREA would): 0.14 ms for a 720p face instead of
0.75 ms with a warp at full size and an INTER_AREA resize. Beyond it, bilinear sampling would skip pixels (aliasing),
so the crop is warped at full size and area-averaged down."""


def face_crop(
    frame: np.ndarray, face: FaceBox, margin: float, size: int, align: bool = False
) -> tuple[np.ndarray, tuple[Point, ...]]:
    """The crop, and the face's keypoints in its pixels. Aligned: rotated about the face's centre so that the eye
    line is level, the side `BOX_PER_EYE_DISTANCE` eye distances (plus the margin); otherwise `square_crop`."""
    if not align or len(face.keypoints) < 2:
        left, top, side = _square(face, margin)
        scale = size / side
        points = tuple(((x - left) * scale, (y - top) * scale) for x, y in face.keypoints)
        return square_crop(frame, face, margin, size), _rounded(points)
    (right_x, right_y), (left_x, left_y) = face.keypoints[:2]  # the person's right eye is on the image's left
    eye_distance = math.hypot(left_x - right_x, left_y - right_y)
    side = _side(max(2.0, BOX_PER_EYE_DISTANCE * eye_distance), margin)
    angle = math.degrees(math.atan2(left_y - right_y, left_x - right_x))
    centre = face.centre
    to_square = cv2.getRotationMatrix2D(centre, angle, 1.0)
    to_square[:, 2] += np.array([side / 2 - centre[0], side / 2 - centre[1]])  # the face's centre to the crop's
    scale = size / side
    to_crop = to_square * scale
    to_crop[:, 2] += (scale - 1) / 2  # pixel centres onto pixel centres, as cv2.resize scales
    if side <= DIRECT_WARP_MAX_DOWNSCALE * size:
        crop = cv2.warpAffine(frame, to_crop, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    else:
        square = cv2.warpAffine(frame, to_square, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        crop = cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)
    points = tuple(
        (
            to_crop[0, 0] * x + to_crop[0, 1] * y + to_crop[0, 2],
            to_crop[1, 0] * x + to_crop[1, 1] * y + to_crop[1, 2],
        )
        for x, y in face.keypoints
    )
    return crop, _rounded(points)


def square_crop(frame: np.ndarray, box: FaceBox, margin: float, size: int) -> np.ndarray:
    """A square of side `max(w, h) * (1 + 2 * margin)` centred on the face, resized to `size` x `size`."""
    left, top, side = _square(box, margin)
    height, width = frame.shape[:2]
    pad = max(0, -left, -top, left + side - width, top + side - height)
    if pad:
        frame = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        left, top = left + pad, top + pad
    crop = frame[top : top + side, left : left + side]
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interpolation)


def encode_jpeg(rgb: np.ndarray, quality: int = 95) -> bytes:
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return encoded.tobytes()


def _square(box: FaceBox, margin: float) -> tuple[int, int, int]:
    """Left, top and side of the unaligned crop in frame pixels."""
    side = _side(max(box.width, box.height), margin)
    centre_x, centre_y = box.centre
    return round(centre_x - side / 2), round(centre_y - side / 2), side


def _side(face_side: float, margin: float) -> int:
    return max(2, round(face_side * (1 + 2 * margin)))


def _rounded(points: tuple[Point, ...]) -> tuple[Point, ...]:
    return tuple((round(x, 2), round(y, 2)) for x, y in points)
