"""Scoring as evaluation and serving both do it: the same preprocessing and the same frame → video aggregation."""

from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import torch
from PIL import Image
from torch import nn
from torchvision.transforms import v2

from deepfake.components.classifier.model import Aggregation, ModelConfig
from deepfake.components.manifests import FaceRecord
from deepfake.components.serve.schema import FrameScore, TrackScore


def load_face(path: Path | BinaryIO, draft_size: int | None = None) -> Image.Image:
    """A face crop (a file, or the bytes serving just encoded) as RGB. With `draft_size` (training only), decode the
    JPEG at the smallest DCT scale (1/2, 1/4, 1/8) that still covers it, cheaper than a full decode; without, decode
    in full, as evaluation and serving score.
    """
    try:
        with Image.open(path) as image:
            if draft_size is not None:
                image.draft("RGB", (draft_size, draft_size))
            return image.convert("RGB")
    except OSError as exc:
        name = path if isinstance(path, Path) else getattr(path, "name", "in memory")
        raise ValueError(f"face image {name} cannot be read ({exc}); re-run extract-faces for its video") from exc


def verdict_label(probability: float, threshold: float) -> Literal["REAL", "FAKE"]:
    """The one decision rule of evaluation, batch scoring and serving: FAKE at or above the threshold."""
    return "FAKE" if probability >= threshold else "REAL"


def eval_transform(config: ModelConfig) -> v2.Compose:
    """uint8 HWC RGB (or a PIL image) → normalised CHW float, resized to the model's input."""
    return v2.Compose(
        [
            v2.ToImage(),
            v2.Resize((config.image_size, config.image_size), antialias=True),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(config.mean, config.std),
        ]
    )


def predict_logits(network: nn.Module, batch: torch.Tensor, flip: bool) -> torch.Tensor:
    """The logit of FAKE a face; with `flip`, the mean of the face's and its mirror image's: a blend is as much a
    blend mirrored, and two views average out some of what one view's pixels happen to say."""
    logits = network(batch).squeeze(1).float()
    if flip:
        logits = (logits + network(torch.flip(batch, dims=[3])).squeeze(1).float()) / 2
    return logits


@torch.inference_mode()
def predict_probabilities(network: nn.Module, batch: torch.Tensor, config: ModelConfig) -> np.ndarray:
    """probability_fake a face, for a batch already transformed, as the model config says to score."""
    return torch.sigmoid(predict_logits(network, batch, config.test_time_flip) / config.temperature).cpu().numpy()


def aggregate(probabilities: Sequence[float], how: Aggregation) -> float:
    values = np.asarray(probabilities, dtype=np.float64)
    if values.size == 0:
        raise ValueError("cannot aggregate a video with no scored frames")
    if how == "mean":
        return float(values.mean())
    if how == "median":
        return float(np.median(values))
    if how == "max":
        return float(values.max())
    top = np.sort(values)[-max(1, values.size // 4) :]
    return float(top.mean())


MIN_TRACK_SHARE = 0.25
"""A track is a person when it was seen in at least this share of the frames its video's most-seen track was: a
detection that does not recur is more often a false one than a person, and its crop is nothing the detector was
trained on. On the demo, a 36 px patch of dark clothing found once (detector score 0.50) in one real test video's
10 frames was that video's most suspicious "person" and called it FAKE on every seed (0.87-0.997), alone costing
~0.03 of the test AUC. A person who walks in while 32 frames are sampled still counts from their 8th frame."""


def person_probabilities(faces: Sequence[FrameScore], how: Aggregation) -> dict[int, float]:
    """Each person's probability_fake (a track seen often enough, see `MIN_TRACK_SHARE`), its faces aggregated as a
    video's. The video's is the highest: a fake person among real ones is a fake video (the DFDC winners scored each
    face and took the most suspicious person)."""
    return _people(_by_track(faces), how)


def _people(by_track: dict[int, list[FrameScore]], how: Aggregation) -> dict[int, float]:
    most_seen = max(len(scored) for scored in by_track.values())
    return {
        track: aggregate([face.probability_fake for face in scored], how)
        for track, scored in by_track.items()
        if len(scored) >= MIN_TRACK_SHARE * most_seen
    }


def score_people(faces: Sequence[FrameScore], how: Aggregation, threshold: float) -> tuple[float, list[TrackScore]]:
    """The video's probability_fake and each person, most suspicious first; a person's box is its largest face's."""
    by_track = _by_track(faces)
    people = _people(by_track, how)
    tracks = [
        TrackScore(
            track=track,
            label=verdict_label(probability, threshold),
            probability_fake=round(probability, 6),
            faces=len(by_track[track]),
            frames=sorted({face.frame_index for face in by_track[track]}),
            box=max((face.box for face in by_track[track] if face.box), key=lambda box: box[2] * box[3], default=None),
        )
        for track, probability in sorted(people.items(), key=lambda item: (-item[1], item[0]))
    ]
    return max(people.values()), tracks


def _by_track(faces: Sequence[FrameScore]) -> dict[int, list[FrameScore]]:
    by_track: dict[int, list[FrameScore]] = {}
    for face in faces:
        by_track.setdefault(face.track, []).append(face)
    if not by_track:
        raise ValueError("cannot aggregate a video with no scored frames")
    return dict(sorted(by_track.items()))


def video_probabilities(
    faces: Sequence[FaceRecord], probabilities: Sequence[float] | np.ndarray, how: Aggregation
) -> dict[str, tuple[float, list[FrameScore]]]:
    """Video id → its probability_fake (its most suspicious person's) and its scored faces, for rows of a
    FaceDataset: what evaluation, calibration and training's validation AUC all judge a video by."""
    scored: dict[str, list[FrameScore]] = {}
    for face, probability in zip(faces, probabilities, strict=True):
        scored.setdefault(face.video_id, []).append(face_score(face, probability))
    return {video: (max(person_probabilities(rows, how).values()), rows) for video, rows in sorted(scored.items())}


def face_score(face: FaceRecord, probability: float) -> FrameScore:
    """A FaceDataset row with its probability_fake, as serving reports a face."""
    return FrameScore(frame_index=face.frame_index, probability_fake=float(probability), box=face.box, track=face.track)
