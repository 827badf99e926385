"""The other-project example, run the way another project would run it: from its own folder, with the library
installed, loading two components from exported JSON specs (a file, then a URL) and adding one of its own."""

import functools
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from deepfake.pipelines.dag.loading import discover_components
from tests.support import REPO_ROOT
from tests.support.media import blank_clip, face_clip

pytestmark = pytest.mark.slow  # whole pipeline runs in subprocesses

EXAMPLE = REPO_ROOT / "examples/other_project"
PIPELINE = "pipelines.face_audit.pipeline:pipeline"
SPECS = EXAMPLE / "specs"
SPEC_ENV = "OTHER_PROJECT_SPECS"


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("videos")
    face_clip(root / "a.mp4", frames=6, face_height=50)
    face_clip(root / "b.mp4", frames=6, face_height=60)
    blank_clip(root / "c.mp4", frames=6)
    return root


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by the module's runs, so later runs reuse the cached steps of the first."""
    return tmp_path_factory.mktemp("runs")


def run_example(videos: Path, runs: Path, *params: str, specs: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if name != SPEC_ENV}
    if specs is not None:
        env[SPEC_ENV] = specs
    command = [sys.executable, "-m", "deepfake.pipelines", "run", PIPELINE, "--runs-dir", str(runs), "--quiet"]
    for param in (f"Videos={videos}", *params):
        command += ["--param", param]
    return subprocess.run(command, cwd=EXAMPLE, env=env, capture_output=True, text=True, check=False, timeout=300)


@pytest.fixture
def spec_server(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """An HTTP server on 127.0.0.1 serving a copy of the specs; yields (URL, served folder, requested paths)."""
    served = tmp_path / "served"
    served.mkdir()
    for spec in SPECS.glob("*.json"):
        (served / spec.name).write_bytes(spec.read_bytes())
    requested: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            requested.append(self.path)

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served, requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def report_of(runs: Path) -> dict:
    latest = max(runs.glob("face-audit/*/run.json"), key=lambda path: path.stat().st_mtime)
    record = json.loads(latest.read_text())
    folder = Path(record["steps"]["face-report"]["outputs"]["report"]["path"])
    return json.loads((folder / "report.json").read_text())


def test_the_exported_specs_are_the_current_ones() -> None:
    library = {component.name: component.spec for component in discover_components("deepfake.components")}
    for path in sorted(SPECS.glob("*.json")):
        assert path.read_text() == library[path.stem].to_json(), f"{path.name} is stale: run `make catalogue`"
    assert sorted(path.stem for path in SPECS.glob("*.json")) == ["extract-faces", "ingest-videos"]


def test_it_runs_from_its_own_folder_with_specs_from_files(videos: Path, runs: Path) -> None:
    completed = run_example(videos, runs)
    assert completed.returncode == 0, completed.stderr
    assert "face-audit" in completed.stdout and ": succeeded in" in completed.stdout
    report = report_of(runs)
    assert (report["videos"], report["videos_with_faces"], report["face_rate"]) == (3, 2, 0.6667)
    assert set(report["per_video"]) == {"a", "b"} and report["per_video"]["a"]["faces"] == 4  # FramesPerVideo
    assert list(report["without_faces"]) == ["c.mp4"]


def test_it_loads_the_specs_from_a_url_and_reuses_the_cached_steps(
    videos: Path, runs: Path, spec_server: tuple[str, Path, list[str]]
) -> None:
    url, _, requested = spec_server
    assert run_example(videos, runs).returncode == 0  # from the files (cached when the test above ran first)
    completed = run_example(videos, runs, specs=url)
    assert completed.returncode == 0, completed.stderr
    assert sorted(requested) == ["/extract-faces.json", "/ingest-videos.json"]
    assert "3 of 3 steps reused from cache" in completed.stdout


def test_a_spec_of_another_version_than_the_pin_stops_it_before_anything_runs(
    videos: Path, tmp_path: Path, spec_server: tuple[str, Path, list[str]]
) -> None:
    url, served, _ = spec_server
    spec = json.loads((served / "extract-faces.json").read_text())
    pinned, spec["version"] = spec["version"], "9.0.0"
    (served / "extract-faces.json").write_text(json.dumps(spec))
    completed = run_example(videos, tmp_path / "runs", specs=url)
    assert completed.returncode == 2
    assert f"component 'extract-faces' is version 9.0.0, but the pipeline pins {pinned}" in completed.stderr
    assert not (tmp_path / "runs").exists()


def test_its_own_gate_fails_the_run_quoting_the_face_rate(videos: Path, runs: Path) -> None:
    completed = run_example(videos, runs, "MinFaceRate=0.9")
    assert completed.returncode == 1
    assert "FAILED: step 'too-few-faces' failed: face rate 0.6667 is below MinFaceRate 0.9" in completed.stdout


def test_loading_it_imports_no_component_module_of_the_library() -> None:
    probe = (
        "import json, sys\n"
        "from deepfake.pipelines.dag.loading import load_pipeline\n"
        f"load_pipeline({PIPELINE!r})\n"
        "print(json.dumps(sorted(name for name in sys.modules if name.startswith('deepfake.components.'))))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], cwd=EXAMPLE, capture_output=True, text=True, check=True, timeout=120
    )
    imported = set(json.loads(completed.stdout))
    stages = {path.parent.name for path in (REPO_ROOT / "components").glob("*/component.py")}
    domain = {path.parent.name for path in (REPO_ROOT / "components").glob("*/__init__.py")}
    assert "ingest_videos" in stages and "faces" in domain
    assert {name.split(".")[2] for name in imported} & (stages | domain) == set(), imported
    assert "deepfake.components.runtime" in imported  # its own component's entry does import the library's runtime


def test_it_compiles_for_sagemaker_with_its_buildspec_commands(tmp_path: Path) -> None:
    """The buildspec's compile command, run by bash as CodeBuild would, from the project's root."""
    spec = yaml.safe_load((EXAMPLE / "codebuild-buildspec.yml").read_text())
    install = " ".join(spec["phases"]["install"]["commands"])
    assert "[sagemaker]" in install and "make install" not in install
    commands = [command for command in spec["phases"]["build"]["commands"] if "--target sagemaker" not in command]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "DEEPFAKE_", "SAGEMAKER_"))}
    env |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",  # `python` is this environment's
        "HOME": str(tmp_path),
        "AWS_REGION": "eu-west-1",
        "CODEBUILD_BUILD_ARN": "arn:aws:codebuild:eu-west-1:210987654321:build/face-audit-build:0b1c",
        "SAGEMAKER_PROJECT_NAME": "team-b",
        "SAGEMAKER_PROJECT_ID": "p-0123456789ab",
        "SAGEMAKER_PIPELINE_ROLE_ARN": "arn:aws:iam::210987654321:role/team-b-pipeline",
        "ARTIFACT_BUCKET": "team-b-artifacts",
    }
    project = tmp_path / "project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__", "build"))
    script = "set -euo pipefail\n" + "\n".join(commands)
    completed = subprocess.run(["bash", "-c", script], cwd=project, env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    definition = json.loads((project / "build" / "pipeline-definition.json").read_text())
    steps = {step["Name"]: step for step in definition["Steps"]}
    assert set(steps) == {"ingest", "extract", "face-report", "check-face-rate"}
    report = steps["face-report"]["Arguments"]["AppSpecification"]
    assert report["ContainerEntrypoint"] == ["python", "-m", "pipelines.face_audit.face_report"]
    assert report["ImageUri"] == "210987654321.dkr.ecr.eu-west-1.amazonaws.com/other-project/face-report:0.1.0"
    ingest = steps["ingest"]["Arguments"]["AppSpecification"]["ContainerEntrypoint"]
    assert ingest == ["python", "-m", "deepfake.components.ingest_videos"]
    videos = next(item for item in definition["Parameters"] if item["Name"] == "Videos")
    assert videos["DefaultValue"] == "s3://team-b-artifacts/videos"
