"""Tests that need dockerd and the pushed images: `make test-containers` sets both up, then runs them.

`make test` collects nothing here. pyproject.toml's addopts cannot carry `--ignore` (and must not be edited), so
this folder opts its tests in: they are collected only when DEEPFAKE_CONTAINER_TESTS=1, which only that make target
sets. It also points DEEPFAKE_IMAGES_MANIFEST at the manifest its build just wrote.
"""

import os

import pytest

from deepfake.pipelines.images.docker_cli import DockerCli
from deepfake.pipelines.images.manifest import ImagesManifest
from deepfake.pipelines.settings import Settings
from tests.support import REPO_ROOT

ENABLE_ENV = "DEEPFAKE_CONTAINER_TESTS"

collect_ignore_glob = [] if os.environ.get(ENABLE_ENV) == "1" else ["test_*.py"]


@pytest.fixture(scope="session")
def manifest() -> ImagesManifest:
    """What `make test-containers` built and pushed; a missing manifest is an error, never a skip."""
    return ImagesManifest.load(REPO_ROOT / Settings().images_manifest)


@pytest.fixture(scope="session")
def docker() -> DockerCli:
    return DockerCli()
