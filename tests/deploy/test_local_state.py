"""Where local state lives: a stage started with another runs folder is noticed, a moved registry still serves."""

import io
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from deepfake.deploy import cli
from deepfake.deploy.local_target import LocalTarget
from deepfake.deploy.rollout import History, Rollout
from deepfake.deploy.stages import Stage, StageConfig
from deepfake.pipelines.registry import ApprovalStatus, LocalRegistry
from tests.support import REPO_ROOT
from tests.support.ports import free_port

GROUP = "deepfake-detector"


class Ping(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def rollout(tmp_path: Path) -> Iterator[Rollout]:
    """A local rollout whose staging port is answered by a server this runs folder did not start."""
    configs = tmp_path / "config"
    configs.mkdir()
    for stage in Stage:
        config = StageConfig.load(stage).model_copy(update={"local_port": free_port()})
        (configs / f"{stage.value}-config.json").write_text(config.model_dump_json())
    deployments = tmp_path / "runs" / "deployments" / "local"
    rollout = Rollout(
        LocalRegistry(tmp_path / "runs" / "registry"),
        LocalTarget(deployments),
        History(deployments / "history.jsonl"),
        GROUP,
        results_dir=deployments,
        config_dir=configs,
    )
    server = ThreadingHTTPServer(("127.0.0.1", rollout.config(Stage.STAGING).local_port), Ping)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield rollout
    server.shutdown()
    server.server_close()


def test_status_and_stop_notice_a_stage_started_with_another_runs_folder(rollout: Rollout) -> None:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        assert cli.show_status(rollout) == 0
        assert cli.stop_stages(rollout, list(Stage)) == 1
    status = out.getvalue()
    assert "staging  serves nothing      at http://127.0.0.1:" in status and "(up, started elsewhere)" in status
    assert "(down)" in status.split("prod", 1)[1]
    assert "answers, but not from a process started with" in status
    assert "error: port" in err.getvalue() and "point DEEPFAKE_RUNS_DIR at that folder" in err.getvalue()


def test_the_deploy_cli_says_which_runs_folder_it_uses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--runs-dir", str(tmp_path / "elsewhere"), "models"]) == 0
    captured = capsys.readouterr()
    assert f"runs folder: {tmp_path / 'elsewhere'}" in captured.err
    assert "no versions in model group 'deepfake-detector'" in captured.out


def test_a_moved_registry_still_finds_its_model_files(tmp_path: Path) -> None:
    (tmp_path / "model.tar.gz").write_bytes(b"weights")
    (tmp_path / "evaluation.json").write_text(json.dumps({}))
    LocalRegistry(tmp_path / "runs" / "registry").register(
        GROUP, tmp_path / "model.tar.gz", tmp_path / "evaluation.json", "deepfake/serve", ApprovalStatus.PENDING, "t"
    )
    shutil.move(tmp_path / "runs", tmp_path / "moved")
    package = LocalRegistry(tmp_path / "moved" / "registry").get(GROUP, 1)
    assert package.model_data == str((tmp_path / "moved/registry/deepfake-detector/1/model.tar.gz").resolve())
    assert Path(package.model_data).read_bytes() == b"weights"


def test_status_into_a_reader_that_has_gone_ends_without_a_traceback(tmp_path: Path) -> None:
    """`deploy status | head`: the reader may exit before status writes; the write must not end in a traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    status = subprocess.run(
        [sys.executable, "-m", "deepfake.deploy", "--runs-dir", str(tmp_path / "runs"), "status"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    os.close(write_end)
    assert "Traceback" not in status.stderr
    assert status.returncode == 141
