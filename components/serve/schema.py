"""The verdict's JSON schema: light to import, so clients and the smoke test validate responses without torch."""

from typing import Literal

from pydantic import BaseModel, Field

InputKind = Literal["video", "image", "face"]

# What /invocations accepts and answers: the app routes on these, and the model package declares them.
VIDEO_TYPES = {
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/x-matroska": ".mkv",
    "video/webm": ".webm",
    "video/x-msvideo": ".avi",
}
IMAGE_TYPES = ("image/jpeg", "image/png")
JSON_TYPE = "application/json"
CONTENT_TYPES = (*VIDEO_TYPES, *IMAGE_TYPES, JSON_TYPE)
RESPONSE_TYPES = (JSON_TYPE,)


class FrameScore(BaseModel):
    frame_index: int = Field(ge=0)
    probability_fake: float = Field(ge=0, le=1)
    box: tuple[int, int, int, int] | None = Field(None, description="x, y, width, height of the face in the frame")
    track: int = Field(0, ge=0, description="The person this face is (its track)")


class TrackScore(BaseModel):
    """One person of the video: its faces aggregated as the model aggregates a video's."""

    track: int = Field(ge=0)
    label: Literal["REAL", "FAKE"]
    probability_fake: float = Field(ge=0, le=1)
    faces: int = Field(ge=1, description="Faces of this person scored")
    frames: list[int] = Field(description="The sampled frames the person is in")
    box: tuple[int, int, int, int] | None = Field(None, description="Its largest face's box")


class Verdict(BaseModel):
    """The video's fields are its most suspicious person's: a fake person among real ones makes a fake video."""

    label: Literal["REAL", "FAKE"]
    probability_fake: float = Field(ge=0, le=1)
    threshold: float = Field(gt=0, lt=1)
    aggregation: str = Field(description="How frame probabilities became the video's: the model config's choice")
    input: InputKind
    frames_sampled: int = Field(ge=1)
    faces_found: int = Field(ge=1)
    frame_scores: list[FrameScore]
    tracks: list[TrackScore] = Field(default_factory=list, description="Each person, most suspicious first")
    model_version: str
    model_package: str
