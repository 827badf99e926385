"""A detected face: its box, the detector's confidence and BlazeFace's keypoints, free of any detector import.

Crops, tracks and self-blends use it where MediaPipe is not installed (the training image).
"""

from dataclasses import dataclass

Point = tuple[float, float]


@dataclass(frozen=True)
class FaceBox:
    x: int
    y: int
    width: int
    height: int
    score: float
    keypoints: tuple[Point, ...] = ()  # right eye, left eye, nose tip, mouth, right ear, left ear: the person's sides

    @property
    def centre(self) -> Point:
        return self.x + self.width / 2, self.y + self.height / 2

    @property
    def xywh(self) -> tuple[int, int, int, int]:
        """The box as manifests and verdicts carry it."""
        return self.x, self.y, self.width, self.height

    def iou(self, other: "FaceBox") -> float:
        left, top = max(self.x, other.x), max(self.y, other.y)
        right = min(self.x + self.width, other.x + other.width)
        bottom = min(self.y + self.height, other.y + other.height)
        overlap = max(0, right - left) * max(0, bottom - top)
        union = self.width * self.height + other.width * other.height - overlap
        return overlap / union if union else 0.0
