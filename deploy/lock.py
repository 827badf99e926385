"""One stage change at a time: a file lock per deployment folder, held for a whole approve, promote, rollback or stop.

Two `approve` commands at once would each start a serving process and write the history; the second one now waits
for the first (saying so) and gives up after a while with a message naming the holder, instead of leaving a process
no pid file names or a history that says another version than the stage serves.
"""

import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from deepfake.deploy.stages import DeployError

LOCK_FILE = ".stage-changes.lock"


@contextmanager
def stage_changes(folder: Path, timeout_s: float, out: TextIO = sys.stderr) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    with path.open("a+") as handle:
        deadline = time.monotonic() + timeout_s
        said = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(path)
                if time.monotonic() >= deadline:
                    raise DeployError(
                        f"another deploy command ({holder}) is changing the stages in {folder} and still holds"
                        f" {path.name} after {timeout_s:g} s; retry when it ends"
                        " (DEEPFAKE_DEPLOY_LOCK_TIMEOUT_SECONDS waits longer)"
                    ) from None
                if not said:
                    out.write(f"waiting for another deploy command ({holder}) to finish changing the stages\n")
                    out.flush()
                    said = True
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _holder(path: Path) -> str:
    text = path.read_text().strip() if path.is_file() else ""
    return f"pid {text}" if text.isdigit() else "a process"
