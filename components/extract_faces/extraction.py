"""One video's extraction, written so that a killed run can resume: crops first, then one atomic part file."""

import hashlib
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from deepfake.components.faces.crop import encode_jpeg, face_crop
from deepfake.components.faces.decoding import iter_sampled
from deepfake.components.faces.detection import FaceDetector
from deepfake.components.faces.probing import Prober
from deepfake.components.faces.sampling import VideoReadError, check_frame_size, evenly_spaced
from deepfake.components.faces.tracking import FaceTracker, TrackedFace
from deepfake.components.manifests import FaceRecord, VideoRecord, safe_relative_path


class ExtractionSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    frames_per_video: int
    face_size: int
    margin: float
    jpeg_quality: int
    min_score: float
    max_frame_pixels: int
    max_faces: int
    align: bool


class VideoResult(BaseModel):
    """What one video produced; `rejected` holds the reason when it produced nothing usable."""

    video_id: str
    path: str
    frames_sampled: int = 0
    faces: list[FaceRecord] = []
    rejected: str | None = None


def part_path(output: Path, video_id: str) -> Path:
    return output / "parts" / f"{hashlib.sha1(video_id.encode()).hexdigest()}.json"


def extract_video(
    record: VideoRecord,
    video: Path,
    output: Path,
    settings: ExtractionSettings,
    detector: FaceDetector,
    prober: Prober,
) -> VideoResult:
    """Never raises for a bad video: the reason goes into the result, so one video never stops the batch."""
    result = VideoResult(video_id=record.id, path=record.path)
    tracker = FaceTracker(detector, settings.max_faces)
    crops: list[tuple[str, bytes]] = []
    faces: list[FaceRecord] = []
    sampled = 0
    try:
        info = prober.probe(video)  # in a child process: a file that crashes the decoder is only a rejection
        check_frame_size(info, settings.max_frame_pixels)
        for index, frame in iter_sampled(video, evenly_spaced(info.frames, settings.frames_per_video)):
            sampled += 1
            for person in tracker.update(frame):
                image = f"faces/{record.id}/{index:06d}-{person.track}.jpg"
                crop, crop_keypoints = face_crop(
                    frame, person.face, settings.margin, settings.face_size, settings.align
                )
                crops.append((image, encode_jpeg(crop, settings.jpeg_quality)))
                faces.append(face_record(record, index, image, person, crop_keypoints))
    except VideoReadError as exc:
        return result.model_copy(update={"rejected": str(exc)})
    for image, data in crops:  # only once the whole video decoded: a broken stream leaves no stray crops
        _write_atomically(safe_relative_path(output, image), data)
    rejected = None if faces else f"no face found in any of the {sampled} sampled frames"
    return result.model_copy(update={"frames_sampled": sampled, "faces": faces, "rejected": rejected})


def face_record(
    record: VideoRecord, index: int, image: str, person: TrackedFace, crop_keypoints: tuple[tuple[float, float], ...]
) -> FaceRecord:
    face = person.face
    return FaceRecord(
        video_id=record.id,
        frame_index=index,
        image=image,
        box=face.xywh,
        score=round(face.score, 6),
        label=record.label,
        group=record.group,
        source_split=record.source_split,
        method=record.method,
        perturbation=record.perturbation,
        track=person.track,
        keypoints=face.keypoints,
        crop_keypoints=crop_keypoints,
    )


def save_result(output: Path, result: VideoResult) -> None:
    _write_atomically(part_path(output, result.video_id), result.model_dump_json().encode())


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
