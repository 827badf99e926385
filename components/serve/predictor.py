"""From request bytes to a verdict, in process: the same sampling, detection, crops and scoring as the pipeline.

Every face is tracked and cropped exactly as extract-faces does it and goes through the same JPEG encoding and
decoding before scoring, so a video scored here gets the face probabilities evaluate-model would give it; the
verdict is its most suspicious person's, and lists every person.
"""

import io
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from deepfake.components.artifacts import ArtifactError, unpack_archive
from deepfake.components.classifier.model import CONFIG_FILE, WEIGHTS_FILE, load_model
from deepfake.components.classifier.scoring import (
    eval_transform,
    load_face,
    predict_probabilities,
    score_people,
    verdict_label,
)
from deepfake.components.contract import MODEL_ARCHIVE
from deepfake.components.faces.boxes import FaceBox
from deepfake.components.faces.crop import encode_jpeg, face_crop
from deepfake.components.faces.decoding import read_sampled
from deepfake.components.faces.detection import FaceDetector
from deepfake.components.faces.probing import Prober
from deepfake.components.faces.sampling import VideoReadError, evenly_spaced
from deepfake.components.faces.tracking import track_faces
from deepfake.components.serve.schema import FrameScore, InputKind, Verdict
from deepfake.components.serve.settings import ServeSettings


class InputError(ValueError):
    """A request this model cannot score; `status` is the HTTP status that says why (4xx)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ModelDirError(ValueError):
    """The model folder is missing or incomplete; the server does not start."""


class Predictor:
    """One per worker process. Requests are scored one at a time: MediaPipe graphs are not thread-safe, and
    parallelism comes from worker processes, each with its share of the cores."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self._unpacked: tempfile.TemporaryDirectory[str] | None = None
        folder = self._model_folder(settings.model_dir)
        try:
            self.network, self.config = load_model(folder)
        except Exception as exc:  # whatever torch or pydantic raised for a corrupt file, the reason is the same
            raise ModelDirError(f"cannot load the model in {folder}: {type(exc).__name__}: {exc}") from exc
        self.transform = eval_transform(self.config)
        self.detector = FaceDetector(min_score=settings.min_score)
        self.prober = Prober()
        self._lock = threading.Lock()

    def predict_video(self, path: Path) -> Verdict:
        with self._lock:
            frames, indices = self._read_video(path)
            tracked = track_faces(self.detector, frames, self.settings.max_faces)
            found = [
                (index, frame, person)
                for index, frame, people in zip(indices, frames, tracked, strict=True)
                for person in people
            ]
            if not found:
                raise InputError(
                    422,
                    f"no face found in any of the {len(indices)} sampled frames: this model scores faces; send a"
                    " video where a face is visible (at least ~56 px tall)",
                )
            scores = self._score([self._crop(frame, person.face) for _, frame, person in found])
            frame_scores = [
                FrameScore(
                    frame_index=index,
                    probability_fake=float(score),
                    box=person.face.xywh,
                    track=person.track,
                )
                for (index, _, person), score in zip(found, scores, strict=True)
            ]
            return self._verdict("video", frame_scores, frames_sampled=len(indices))

    def predict_image(self, data: bytes, kind: Literal["image", "face"]) -> Verdict:
        """`image` is a frame (its faces are detected and cropped); `face` is already a crop (scored as it is)."""
        with self._lock:
            rgb = self._decode_image(data)
            if kind == "face":
                (score,) = self._score([rgb])
                return self._verdict(kind, [FrameScore(frame_index=0, probability_fake=float(score))], 1)
            faces = self.detector.detect(rgb, max_faces=self.settings.max_faces)
            if not faces:
                raise InputError(
                    422,
                    "no face found in the image: send a frame with a visible face, or a face crop with the"
                    " header X-Amzn-SageMaker-Custom-Attributes: input=face",
                )
            scores = self._score([self._crop(rgb, face) for face in faces])
            frame_scores = [
                FrameScore(
                    frame_index=0,
                    probability_fake=float(score),
                    box=face.xywh,
                    track=track,
                )
                for track, (face, score) in enumerate(zip(faces, scores, strict=True))
            ]
            return self._verdict(kind, frame_scores, 1)

    def close(self) -> None:
        self.detector.close()
        self.prober.close()
        if self._unpacked is not None:
            self._unpacked.cleanup()

    def _model_folder(self, model_dir: Path) -> Path:
        """A model folder, or a model.tar.gz (as the registry stores it) unpacked safely into a scratch folder."""
        if (model_dir / MODEL_ARCHIVE).is_file() and not (model_dir / CONFIG_FILE).is_file():
            model_dir = model_dir / MODEL_ARCHIVE
        if model_dir.is_file() and model_dir.name.endswith((".tar.gz", ".tgz")):
            self._unpacked = tempfile.TemporaryDirectory(prefix="serve-model-")
            folder = Path(self._unpacked.name)
            try:
                unpack_archive(model_dir, folder)
            except (ArtifactError, OSError) as exc:
                raise ModelDirError(f"cannot unpack the model archive {model_dir}: {exc}") from exc
        else:
            folder = model_dir
        check_model_folder(folder)
        return folder

    def _read_video(self, path: Path) -> tuple[np.ndarray, list[int]]:
        """Probed in a child process first (a file that crashes the decoder is a 400, not a dead worker), and the
        frame size checked before this process decodes a frame."""
        try:
            info = self.prober.probe(path)
        except VideoReadError as exc:
            raise InputError(400, f"the body is not a readable video ({exc})") from exc
        if info.width * info.height > self.settings.max_frame_pixels:
            raise InputError(
                422,
                f"video frames are {info.width}x{info.height}, over the limit of {self.settings.max_frame_pixels}"
                " pixels: downscale the video",
            )
        if info.frames > self.settings.max_frames:
            raise InputError(
                422,
                f"video has {info.frames} frames, over the limit of {self.settings.max_frames}: send a shorter clip",
            )
        try:
            sampled = read_sampled(path, evenly_spaced(info.frames, self.settings.frames_per_video))
            return sampled.pixels, sampled.indices
        except VideoReadError as exc:
            raise InputError(400, f"the video does not decode ({exc})") from exc

    def _decode_image(self, data: bytes) -> np.ndarray:
        """Header first: an image whose declared size is over the pixel limit is refused before it is decoded."""
        try:
            with Image.open(io.BytesIO(data), formats=["JPEG", "PNG"]) as image:
                width, height = image.size
                if width * height > self.settings.max_image_pixels:
                    raise InputError(
                        413,
                        f"image is {width}x{height}, over the limit of {self.settings.max_image_pixels} pixels:"
                        " send a smaller image",
                    )
                with warnings.catch_warnings():
                    warnings.simplefilter("error", Image.DecompressionBombWarning)
                    return np.asarray(image.convert("RGB"))
        except InputError:
            raise
        except Image.DecompressionBombError as exc:
            raise InputError(
                413, f"image is over the limit of {self.settings.max_image_pixels} pixels ({exc}): send a smaller image"
            ) from exc
        except UnidentifiedImageError as exc:  # its message names a BytesIO object, which says nothing to a client
            raise InputError(400, "the body is not a readable JPEG or PNG image (no JPEG or PNG header)") from exc
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
            # ValueError: Pillow's own limits, e.g. a zTXt or iCCP chunk that decompresses past MAX_TEXT_CHUNK.
            raise InputError(400, f"the body is not a readable JPEG or PNG image ({exc})") from exc

    def _crop(self, frame: np.ndarray, face: FaceBox) -> np.ndarray:
        return face_crop(frame, face, self.settings.margin, self.config.image_size, self.settings.align)[0]

    def _score(self, crops: list[np.ndarray]) -> np.ndarray:
        faces = [load_face(io.BytesIO(encode_jpeg(crop, self.settings.jpeg_quality))) for crop in crops]
        batch = torch.stack([self.transform(face) for face in faces])
        return predict_probabilities(self.network, batch, self.config)

    def _verdict(self, kind: InputKind, frame_scores: list[FrameScore], frames_sampled: int) -> Verdict:
        probability, tracks = score_people(frame_scores, self.config.aggregation, self.config.threshold)
        return Verdict(
            label=verdict_label(probability, self.config.threshold),
            probability_fake=round(probability, 6),
            threshold=self.config.threshold,
            aggregation=self.config.aggregation,
            input=kind,
            frames_sampled=frames_sampled,
            faces_found=len(frame_scores),
            frame_scores=frame_scores,
            tracks=tracks,
            model_version=self.config.version,
            model_package=self.settings.model_package,
        )


def check_model_folder(folder: Path) -> None:
    """Before any worker starts: a clear message instead of a worker crash loop."""
    missing = [name for name in (WEIGHTS_FILE, CONFIG_FILE) if not (folder / name).is_file()]
    if missing:
        raise ModelDirError(
            f"model folder {folder} has no {' or '.join(missing)}: point --model-dir (or DEEPFAKE_SERVE_MODEL_DIR)"
            f" at a trained model folder or its {MODEL_ARCHIVE}"
        )
