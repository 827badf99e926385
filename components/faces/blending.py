"""Self-blended fakes (SBI: Shiohara & Yamasaki, CVPR 2022): a face replaced by a perturbed copy of itself.

A colour-, sharpness- and geometry-perturbed copy of the face is blended back through a soft, deformed mask, which
leaves the artifacts of a face swap (a blending boundary, colour and sharpness mismatch, slight misalignment) without
a second identity. A detector trained on them learns those artifacts rather than identities, which is what lets it
detect swaps it has never seen. The demo dataset makes its fakes with this, and train-classifier makes fakes of
real crops on the fly (`fake_source`); the mask follows the face box (an ellipse) or, when there are keypoints,
the eyes, mouth and ears.
"""

import math
from typing import Literal

import cv2
import numpy as np

from deepfake.components.faces.boxes import FaceBox, Point

Sharpness = Literal["blur", "sharpen", "downscale"]
SHARPNESS: tuple[Sharpness, ...] = ("blur", "sharpen", "downscale")
IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


class SelfBlend:
    """SBI for one fake: per-video perturbation parameters, jittered a little per frame like a real swap's flicker.

    Parameter ranges follow the paper's source-target augmentations (RGB shift, hue/saturation/value, brightness and
    contrast; blur, sharpen or downscale; small scale and translation) and its mask (a deformed hull of the face,
    blurred, times a blend ratio), with lower bounds so every fake carries a visible artifact.
    """

    def __init__(self, rng: np.random.Generator, face: FaceBox, keypoints: tuple[Point, ...] = ()) -> None:
        self.rng, self.face = rng, face
        self.hue = signed(rng, 5.0, 15.0)
        self.saturation = rng.uniform(0.75, 1.3)
        self.value = rng.uniform(0.85, 1.15)
        self.shift = rng.uniform(-15.0, 15.0, 3).astype(np.float32)
        self.brightness = signed(rng, 8.0, 22.0)
        self.contrast = rng.uniform(0.85, 1.2)
        self.sharpness = SHARPNESS[int(rng.integers(len(SHARPNESS)))]
        self.strength = rng.uniform(0.0, 1.0)
        self.scale = 1 + signed(rng, 0.03, 0.08)
        self.offset = np.array([signed(rng, 0.015, 0.05), signed(rng, 0.015, 0.05)])
        self.ratio = float(rng.choice([0.8, 1.0, 1.0, 1.0]))
        self.feather = rng.uniform(0.04, 0.1)
        self.hull = keypoint_hull(rng, keypoints) if len(keypoints) >= 6 else face_hull(rng, face)

    def apply(self, frame: np.ndarray, placement: np.ndarray = IDENTITY) -> np.ndarray:
        """The frame with its face region replaced by the perturbed copy; pixels outside the mask stay untouched."""
        hull = cv2.transform(self.hull[None], placement)[0]
        side = math.sqrt(abs(np.linalg.det(placement[:, :2]))) * max(self.face.width, self.face.height)
        reach = int(3 * self.feather * side) + 2
        left, top = np.maximum(np.floor(hull.min(axis=0)).astype(int) - reach, 0)
        right, bottom = np.minimum(np.ceil(hull.max(axis=0)).astype(int) + reach, frame.shape[1::-1])
        target = frame[top:bottom, left:right].astype(np.float32)
        centre = hull.mean(axis=0) - (left, top)
        source = self._geometry(self._sharpness(self._colour(target), side), centre, side)
        mask = np.zeros(target.shape[:2], np.float32)
        cv2.fillConvexPoly(mask, np.round((hull - (left, top)) * 16).astype(np.int32), 1.0, cv2.LINE_AA, shift=4)
        mask = cv2.GaussianBlur(mask, (0, 0), self.feather * side)[..., None] * self.ratio
        out = frame.copy()
        out[top:bottom, left:right] = np.clip(source * mask + target * (1 - mask), 0, 255).astype(np.uint8)
        return out

    def _colour(self, image: np.ndarray) -> np.ndarray:
        hsv = cv2.cvtColor(image / 255, cv2.COLOR_RGB2HSV)
        hsv[..., 0] = (hsv[..., 0] + self.hue + self.rng.normal(0, 0.5)) % 360
        hsv[..., 1] = np.clip(hsv[..., 1] * self.saturation, 0, 1)
        hsv[..., 2] = np.clip(hsv[..., 2] * self.value, 0, 1)
        rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255
        jitter = self.rng.normal(0, 1.0, 3).astype(np.float32)
        return (rgb - 128) * self.contrast + 128 + self.brightness + self.shift + jitter

    def _sharpness(self, image: np.ndarray, side: float) -> np.ndarray:
        if self.sharpness == "blur":
            return cv2.GaussianBlur(image, (0, 0), (0.8 + 1.2 * self.strength) * side / 100)
        if self.sharpness == "sharpen":
            blurred = cv2.GaussianBlur(image, (0, 0), side / 100)
            return image + (1.0 + 1.2 * self.strength) * (image - blurred)
        height, width = image.shape[:2]
        factor = 0.3 + 0.25 * self.strength
        # Bilinear both ways (cv2 took the INTER_AREA once passed here as its `dst` argument, and ignored it).
        small = cv2.resize(image, (max(1, round(width * factor)), max(1, round(height * factor))))
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)

    def _geometry(self, image: np.ndarray, centre: np.ndarray, side: float) -> np.ndarray:
        matrix: np.ndarray = cv2.getRotationMatrix2D(tuple(centre), 0.0, self.scale)
        matrix[:, 2] += (self.offset + self.rng.normal(0, 0.004, 2)) * side
        height, width = image.shape[:2]
        return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def signed(rng: np.random.Generator, low: float, high: float) -> float:
    """A magnitude in [low, high) with a random sign: the perturbation is never too small to matter."""
    return float(rng.uniform(low, high) * rng.choice([-1.0, 1.0]))


def face_hull(rng: np.random.Generator, face: FaceBox, points: int = 16) -> np.ndarray:
    """A convex hull of a radially deformed ellipse around the face in photo coordinates, SBI's deformed mask."""
    angles = np.linspace(0, 2 * math.pi, points, endpoint=False)
    radius = 1 + rng.uniform(-0.1, 0.1, points)
    half_width = face.width * rng.uniform(0.4, 0.55)
    half_height = face.height * rng.uniform(0.5, 0.65)
    centre = (face.x + face.width / 2, face.y + face.height * rng.uniform(0.5, 0.58))
    ellipse = np.stack(
        [centre[0] + half_width * radius * np.cos(angles), centre[1] + half_height * radius * np.sin(angles)], axis=1
    )
    return cv2.convexHull(ellipse.astype(np.float32))[:, 0]


def keypoint_hull(rng: np.random.Generator, keypoints: tuple[Point, ...], points: int = 16) -> np.ndarray:
    """A deformed ellipse from above the eyes to the chin and between the ears, turned with the eye line."""
    right_eye, left_eye, _, mouth, right_ear, left_ear = (np.asarray(point, np.float64) for point in keypoints[:6])
    eyes = (right_eye + left_eye) / 2
    angle = math.atan2(left_eye[1] - right_eye[1], left_eye[0] - right_eye[0])
    half_width = np.linalg.norm(left_ear - right_ear) * rng.uniform(0.42, 0.52)
    half_height = max(float(np.linalg.norm(mouth - eyes)), 1.0) * rng.uniform(1.5, 1.9)
    centre = eyes + (mouth - eyes) * rng.uniform(0.55, 0.75)
    angles = np.linspace(0, 2 * math.pi, points, endpoint=False)
    radius = 1 + rng.uniform(-0.1, 0.1, points)
    x, y = half_width * radius * np.cos(angles), half_height * radius * np.sin(angles)
    turned = np.stack([x * math.cos(angle) - y * math.sin(angle), x * math.sin(angle) + y * math.cos(angle)], axis=1)
    return cv2.convexHull((centre + turned).astype(np.float32))[:, 0]
