"""Stage changes are serialised by a file lock per deployment folder; the waiting command says so, then gives up."""

import io
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deepfake.deploy import cli
from deepfake.deploy.lock import LOCK_FILE, stage_changes
from deepfake.deploy.stages import DeployError

HOLD = """
import fcntl, os, sys, time
with open(sys.argv[1], "a+") as handle:
    fcntl.flock(handle, fcntl.LOCK_EX)
    handle.seek(0); handle.truncate(); handle.write(f"{os.getpid()}\\n"); handle.flush()
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold(folder: Path, seconds: float) -> subprocess.Popen[str]:
    folder.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder / LOCK_FILE), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_command_waits_for_the_first_then_goes_ahead(tmp_path: Path) -> None:
    holder = hold(tmp_path, 1.0)
    out = io.StringIO()
    started = time.monotonic()
    with stage_changes(tmp_path, timeout_s=30, out=out):
        waited = time.monotonic() - started
    holder.wait()
    assert waited >= 0.5, "it waited for the holder to let go"
    assert out.getvalue() == f"waiting for another deploy command (pid {holder.pid}) to finish changing the stages\n"


def test_a_command_that_waits_too_long_gives_up_naming_the_holder(tmp_path: Path) -> None:
    holder = hold(tmp_path, 30)
    try:
        expected = rf"another deploy command \(pid {holder.pid}\) is changing the stages"
        with pytest.raises(DeployError, match=expected), stage_changes(tmp_path, timeout_s=0.3, out=io.StringIO()):
            pass
    finally:
        holder.kill()
        holder.wait()
    with stage_changes(tmp_path, timeout_s=0, out=io.StringIO()):
        pass  # free again once the holder is gone


def test_the_deploy_cli_takes_the_lock_for_stage_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEEPFAKE_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("DEEPFAKE_DEPLOY_LOCK_TIMEOUT_SECONDS", "0.3")
    holder = hold(tmp_path / "deployments" / "local", 30)
    try:
        assert cli.main(["stop"]) == 1
        assert f"another deploy command (pid {holder.pid})" in capsys.readouterr().err
        assert cli.main(["status"]) == 0, "reading the stages needs no lock"
    finally:
        holder.kill()
        holder.wait()


def test_a_bad_history_line_or_a_garbage_pid_file_is_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEEPFAKE_RUNS_DIR", str(tmp_path))
    folder = tmp_path / "deployments" / "local"
    folder.mkdir(parents=True)
    (folder / "staging.pid").write_text("not a pid\n")
    assert cli.main(["status"]) == 0, "a pid file this target did not write means nothing runs"
    (folder / "history.jsonl").write_text('{"stage": "staging"}\n')
    capsys.readouterr()
    assert cli.main(["status"]) == 1
    runs_line, error = capsys.readouterr().err.strip().split("\n", 1)
    assert runs_line.startswith(f"runs folder: {tmp_path}")
    assert error.startswith(f"error: {folder / 'history.jsonl'} line 1 is not a deployment event (")
    assert error.endswith("fix or remove that line") and "\n" not in error
