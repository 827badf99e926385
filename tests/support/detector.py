"""A small detector trained by the tests: real astronaut faces vs channel-swapped ones (FAKE).

Its verdicts are predictable (a swapped-colour clip is FAKE, a normal one REAL), so serving and deployment tests can
check them; the fixtures are in tests/conftest.py.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deepfake.components.faces.crop import face_crop
from deepfake.components.faces.detection import FaceDetector
from deepfake.components.manifests import FaceRecord, write_jsonl
from deepfake.components.runtime import main
from deepfake.components.train_classifier.component import COMPONENT as TRAIN_CLASSIFIER
from tests.support.media import face_clip, face_frame

FACE_SIZE = 32
SPLITS = {"train": 16, "validation": 4, "test": 2}
FACES_PER_VIDEO = 4


def _crops(swap: bool, count: int, offset: int) -> list[np.ndarray]:
    """Faces cropped the way serving crops them, from frames of varied face size and position."""
    order = [2, 1, 0] if swap else [0, 1, 2]
    crops = []
    with FaceDetector() as detector:
        for i in range(offset, offset + count):
            frame = face_frame(320, 240, 50 + 3 * (i % 8), (11 * i) % 120, (7 * i) % 60)[..., order]
            faces = detector.detect(frame)
            assert faces, "the test frames must show a face"
            crops.append(face_crop(frame, faces[0], 0.3, FACE_SIZE, align=True)[0])
    return crops


def train_detector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The train-classifier component, run in-process on faces labelled FAKE when their colours are swapped."""
    root = tmp_path_factory.mktemp("training")
    faces, splits = root / "faces", root / "splits"
    splits.mkdir()
    manifests: dict[str, list[FaceRecord]] = {}
    number = 0
    for split, videos in SPLITS.items():
        manifests[split] = []
        for video in range(videos):
            label = video % 2
            name = f"{split}-{video:02d}"
            for frame, crop in enumerate(_crops(bool(label), FACES_PER_VIDEO, number)):
                image = f"faces/{name}/{frame:05d}.jpg"
                (faces / image).parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(crop).save(faces / image, quality=95)
                manifests[split].append(
                    FaceRecord(
                        video_id=name,
                        frame_index=frame,
                        image=image,
                        box=(0, 0, 60, 60),
                        score=0.9,
                        label=label,
                        group=name,
                    )
                )
            number += FACES_PER_VIDEO
    write_jsonl(faces / "faces.jsonl", [row for rows in manifests.values() for row in rows])
    (faces / "rejected.jsonl").write_text("")
    for split, rows in manifests.items():
        write_jsonl(splits / f"{split}.jsonl", rows)
    (splits / "counts.json").write_text("{}")

    base = root / "job"
    for name in ("faces", "splits"):
        (base / "input" / "data" / name).parent.mkdir(parents=True, exist_ok=True)
        (base / "input" / "data" / name).symlink_to(root / name)
    hyperparameters = {
        "architecture": "resnet18",
        "image_size": str(FACE_SIZE),
        "epochs": "6",
        "batch_size": "8",
        "learning_rate": "0.003",
        "num_workers": "0",
        "early_stopping_patience": "6",
        "fake_source": "dataset",  # it learns the colour swap, which self-blends do not show
    }
    (base / "input" / "config").mkdir(parents=True)
    (base / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SAGEMAKER_BASE_DIR", str(base))
        assert main(TRAIN_CLASSIFIER, ["train"]) == 0
    return base / "model"


def detector_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "real": face_clip(folder / "real.mp4", frames=40),
        "fake": face_clip(folder / "fake.mp4", frames=40, swap_channels=True),
    }
