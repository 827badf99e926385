"""A child process whose output is kept line by line: step attempts, docker builds and pushes."""

import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO


def run_logged(
    command: Sequence[str],
    log: TextIO,
    echo: Callable[[str], None] | None = None,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run `command` to completion, copying its merged stdout and stderr to `log` (and `echo`) line by line.

    Each line is flushed, so `tail -f step.log` follows a long step (training) while it runs.
    """
    process = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=None if env is None else dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    assert process.stdout is not None
    for line in process.stdout:
        log.write(line)
        log.flush()
        if echo is not None:
            echo(line.rstrip("\n"))
    return process.wait()
