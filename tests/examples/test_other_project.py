"""The other-project example, run the way another project would run it: from its own folder, with the library
installed, loading two components from exported JSON specs (a file, then a URL) and adding one of its own."""

import functools
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipelines.loading import discover_components
from tests.conftest import REPO_ROOT
from tests.media import blank_clip, face_clip

EXAMPLE = REPO_ROOT / "examples/other_project"
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
    command = [sys.executable, "-m", "pipelines", "run", "pipeline.py:pipeline", "--runs-dir", str(runs), "--quiet"]
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
    latest = max(runs.glob("other-project/*/run.json"), key=lambda path: path.stat().st_mtime)
    record = json.loads(latest.read_text())
    folder = Path(record["steps"]["face-report"]["outputs"]["report"]["path"])
    return json.loads((folder / "report.json").read_text())


def test_the_exported_specs_are_the_current_ones() -> None:
    library = {component.name: component.spec for component in discover_components("components")}
    for path in sorted(SPECS.glob("*.json")):
        assert path.read_text() == library[path.stem].to_json(), f"{path.name} is stale: run `make catalogue`"
    assert sorted(path.stem for path in SPECS.glob("*.json")) == ["extract-faces", "ingest-videos"]


def test_it_runs_from_its_own_folder_with_specs_from_files(videos: Path, runs: Path) -> None:
    completed = run_example(videos, runs)
    assert completed.returncode == 0, completed.stderr
    assert "other-project" in completed.stdout and ": succeeded in" in completed.stdout
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
        "from pipelines.loading import load_pipeline\n"
        "load_pipeline('pipeline.py:pipeline')\n"
        "print(json.dumps(sorted(name for name in sys.modules if name.startswith('components.'))))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], cwd=EXAMPLE, capture_output=True, text=True, check=True, timeout=120
    )
    imported = set(json.loads(completed.stdout))
    stages = {path.parent.name for path in (REPO_ROOT / "components").glob("*/component.py")}
    domain = {path.parent.name for path in (REPO_ROOT / "components").glob("*/__init__.py")}
    assert "ingest_videos" in stages and "faces" in domain
    assert {name.split(".")[1] for name in imported} & (stages | domain) == set(), imported
    assert "components.runtime" in imported  # its own component's entry does import the library's runtime
