"""The serving process the serve tests share: started as SageMaker starts it, once a module."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ports import free_port
from tests.support.server import Server, start_server


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
