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
