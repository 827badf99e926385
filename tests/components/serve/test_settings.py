"""Serving settings read from SageMaker's hosting variables."""

import os

import pytest

from deepfake.components.serve.settings import ServeSettings


def test_workers_default_to_the_cores_and_follow_sagemaker(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SAGEMAKER_MODEL_SERVER_WORKERS", "DEEPFAKE_SERVE_WORKERS", "SAGEMAKER_BIND_TO_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert ServeSettings().workers == os.cpu_count()
    assert ServeSettings().port == 8080
    monkeypatch.setenv("SAGEMAKER_MODEL_SERVER_WORKERS", "3")
    monkeypatch.setenv("SAGEMAKER_BIND_TO_PORT", "9090")
    assert (ServeSettings().workers, ServeSettings().port) == (3, 9090)
