import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from deepfake.pipelines.processes import run_logged


def test_each_line_reaches_the_log_while_the_process_still_runs(tmp_path: Path) -> None:
    release = tmp_path / "release"
    child = (
        "import pathlib, time\n"
        "print('first line', flush=True)\n"
        f"while not pathlib.Path({str(release)!r}).exists(): time.sleep(0.05)\n"
        "print('last line')\n"
    )
    log_path = tmp_path / "step.log"
    seen: list[str] = []
    with log_path.open("a") as log:
        worker = threading.Thread(target=lambda: seen.append(str(run_logged([sys.executable, "-c", child], log))))
        worker.start()
        deadline = time.monotonic() + 60
        while "first line" not in log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        in_flight = log_path.read_text()
        release.touch()
        worker.join(timeout=60)
    assert in_flight == "first line\n"
    assert seen == ["0"] and log_path.read_text() == "first line\nlast line\n"


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_terminated_runner_stops_the_step_it_runs_and_what_the_step_started(tmp_path: Path) -> None:
    step = (
        "import pathlib, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"pathlib.Path({str(tmp_path / 'pids')!r}).write_text(f'{{child.pid}}')\n"
        "time.sleep(120)\n"
    )
    runner = (
        "import sys\n"
        "from deepfake.pipelines.processes import exit_with, run_logged\n"
        f"exit_with(lambda: run_logged([sys.executable, '-c', {step!r}], sys.stdout))\n"
    )
    process = subprocess.Popen([sys.executable, "-c", runner], stdout=subprocess.DEVNULL)
    pids = tmp_path / "pids"
    deadline = time.monotonic() + 60
    while not pids.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int(pids.read_text())
    step_pid = next(
        int(path.name)
        for path in Path("/proc").iterdir()
        if path.name.isdigit() and _parent(int(path.name)) == process.pid
    )
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 30
    while (alive(step_pid) or alive(grandchild)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(step_pid), "the step outlived the runner"
    assert not alive(grandchild), "a process the step started outlived the runner"


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError):
        return None
