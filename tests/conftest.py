import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _in_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Step subprocesses import their entry modules from the working directory, as `make` runs them."""
    monkeypatch.chdir(REPO_ROOT)
    for name in [name for name in os.environ if name.startswith("SM_") or name == "SAGEMAKER_BASE_DIR"]:
        monkeypatch.delenv(name)
