"""A serving process started as a real subprocess on 127.0.0.1, and a small client for it."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, free_port


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
        "DEEPFAKE_SERVE_MAX_S3_BYTES": str(1024 * 1024),
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
