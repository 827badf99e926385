"""The README's commands as written: the quick blocks run, its tables are the pipelines' own, its links resolve."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from deepfake.pipelines.cli.describe import describe_markdown
from deepfake.pipelines.dag.loading import load_pipeline
from tests.support import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
QUICK_BLOCKS = re.findall(r"^```bash quick\n(.*?)^```$", README, flags=re.MULTILINE | re.DOTALL)
DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def clean_environment(tmp_path: Path) -> dict[str, str]:
    """A new user's shell: no AWS or DEEPFAKE_* settings, runs kept out of the checkout's own runs/."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "DEEPFAKE_"))}
    environment |= {
        "DEEPFAKE_RUNS_DIR": str(tmp_path / "runs"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return environment


def test_the_readme_has_quick_blocks() -> None:
    assert len(QUICK_BLOCKS) == 2


@pytest.mark.slow  # a pipeline run and a compile in subprocesses
@pytest.mark.parametrize("block", QUICK_BLOCKS, ids=lambda block: block.splitlines()[0][:40])
def test_every_quick_block_runs_as_written(block: str, tmp_path: Path) -> None:
    completed = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=REPO_ROOT,
        env=clean_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]


def test_a_documented_command_works_from_another_folder(tmp_path: Path) -> None:
    line = next(line for line in README.splitlines() if line.startswith("/path/to/checkout/"))
    runs = tmp_path / "checkout-runs"
    command = line.replace("/path/to/checkout/runs", str(runs)).replace("/path/to/checkout", str(REPO_ROOT))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    completed = subprocess.run(
        ["bash", "-c", command], cwd=elsewhere, env=clean_environment(tmp_path), capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    assert f"runs folder: {runs}" in completed.stderr
    assert completed.stdout.startswith("staging  serves nothing")


@pytest.mark.parametrize("pipeline", ["deepfake", "batch-scoring"])
def test_the_parameter_tables_are_the_pipelines_own(pipeline: str) -> None:
    table = re.search(rf"<!-- describe {pipeline} -->\n(.*?)<!-- end describe -->", README, flags=re.DOTALL)
    assert table is not None, f"README has no parameter table for {pipeline}"
    assert table.group(1) == describe_markdown(load_pipeline(pipeline)), (
        f"README's {pipeline} table is stale: paste `python -m deepfake.pipelines describe {pipeline} --markdown`"
    )


@pytest.mark.parametrize("document", DOCS, ids=lambda path: path.name)
def test_every_relative_link_resolves_inside_the_repository(document: Path) -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", document.read_text()):
        if re.match(r"[a-z]+://", target):
            continue
        resolved = (document.parent / target).resolve()
        assert resolved.is_relative_to(REPO_ROOT), f"{document.name} links outside the repository: {target}"
        assert resolved.exists(), f"{document.name} links to a missing file: {target}"
