"""Square face crops with a margin, padded at frame edges so the face stays centred."""

import cv2
import numpy as np

from deepfake.components.faces.detection import FaceBox


def square_crop(frame: np.ndarray, box: FaceBox, margin: float, size: int) -> np.ndarray:
    """A square of side `max(w, h) * (1 + 2 * margin)` centred on the face, resized to `size` x `size`."""
    side = max(2, round(max(box.width, box.height) * (1 + 2 * margin)))
    centre_x, centre_y = box.x + box.width / 2, box.y + box.height / 2
    left, top = round(centre_x - side / 2), round(centre_y - side / 2)
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
