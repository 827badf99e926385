import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.support import REPO_ROOT

# Fixtures that start a server or train a model: a test that uses one is `slow` (left out by `make test-fast`).
SLOW_FIXTURES = {"moto_endpoint", "trained_model", "clips", "reference"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _in_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Step subprocesses import their entry modules from the working directory, as `make` runs them."""
    monkeypatch.chdir(REPO_ROOT)
    for name in [name for name in os.environ if name.startswith("SM_") or name == "SAGEMAKER_BASE_DIR"]:
        monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server on 127.0.0.1 (a real HTTP endpoint, as AWS_ENDPOINT_URL sees it); stops with the session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point boto3 (here and in step subprocesses) at the moto server, with its state reset for each test."""
    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")).close()
    yield moto_endpoint


@pytest.fixture
def aws_unconfigured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine with no AWS credentials, region or endpoint: nothing from the environment, files or metadata."""
    for name in [name for name in os.environ if name.startswith(("AWS_", "DEEPFAKE_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # an earlier test's session holds its credentials


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model folder trained by train-classifier on real vs channel-swapped faces (tests/support/detector.py)."""
    from tests.support.detector import train_detector

    return train_detector(tmp_path_factory)


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """H.264 clips the trained model calls REAL ("real") and FAKE ("fake")."""
    from tests.support.detector import detector_clips

    return detector_clips(tmp_path_factory)
