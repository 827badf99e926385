"""A detector trained here (real astronaut faces vs channel-swapped ones) and a serving process to call over HTTP."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from components.faces.crop import square_crop
from components.faces.detection import FaceDetector, best_faces
from components.manifests import FaceRecord, write_jsonl
from components.runtime import main
from components.train_classifier.component import COMPONENT as TRAIN_CLASSIFIER
from tests.conftest import REPO_ROOT
from tests.media import face_clip, face_frame

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
            (box,) = best_faces(detector, [frame])
            assert box is not None, "the test frames must show a face"
            crops.append(square_crop(frame, box, 0.3, FACE_SIZE))
    return crops


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
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
    }
    (base / "input" / "config").mkdir(parents=True)
    (base / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SAGEMAKER_BASE_DIR", str(base))
        assert main(TRAIN_CLASSIFIER, ["train"]) == 0
    return base / "model"


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "real": face_clip(folder / "real.mp4", frames=40),
        "fake": face_clip(folder / "fake.mp4", frames=40, swap_channels=True),
    }


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]

    def request(
        self, path: str, body: bytes | None = None, content_type: str | None = None, headers: dict | None = None
    ) -> tuple[int, dict]:
        request = urllib.request.Request(f"{self.url}{path}", data=body, method="POST" if body is not None else "GET")
        if content_type:
            request.add_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def invoke(self, body: bytes, content_type: str, headers: dict | None = None) -> tuple[int, dict]:
        return self.request("/invocations", body, content_type, headers)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(args: list[str], env: dict[str, str], log: Path, port: int) -> Server:
    """A real `python -m components.serve` process; returns once /ping answers 200 (or fails with its log)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "components.serve", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = Server(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if server.request("/ping")[0] == 200:
                return server
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"the server did not answer /ping in time:\n{log.read_text()}")


@pytest.fixture(scope="module")
def sagemaker_layout(tmp_path_factory: pytest.TempPathFactory, trained_model: Path) -> Path:
    """/opt/ml as SageMaker hosting lays it out: the model unpacked at <base>/model."""
    base = tmp_path_factory.mktemp("opt-ml")
    (base / "model").symlink_to(trained_model, target_is_directory=True)
    return base


@pytest.fixture(scope="module")
def server(sagemaker_layout: Path, moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Started as SageMaker starts it (`serve`, port and workers from SAGEMAKER_* variables), on 127.0.0.1 only."""
    port = free_port()
    env = {
        "SAGEMAKER_BASE_DIR": str(sagemaker_layout),
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
        "DEEPFAKE_SERVE_MODEL_PACKAGE": "deepfake-detector/7",
        "DEEPFAKE_SERVE_MAX_FRAME_PIXELS": str(100_000),
        "DEEPFAKE_SERVE_MAX_FRAMES": "60",
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    log = tmp_path_factory.mktemp("server") / "server.log"
    server = start_server(["serve", "--host", "127.0.0.1"], env, log, port)
    yield server
    if server.process.poll() is None:
        server.process.kill()
