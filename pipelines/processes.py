"""Processes: a child whose output is kept line by line (step attempts, docker builds and pushes), and the exit of
this one's commands."""

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import NoReturn, TextIO

EXIT_BROKEN_PIPE = 141  # what a shell reports for a writer killed by SIGPIPE
EXIT_TERMINATED = 128 + signal.SIGTERM
STOP_GRACE_S = 10.0
"""How long a stopped child has to end after SIGTERM (training writes its checkpoint) before SIGKILL."""


def run_logged(
    command: Sequence[str],
    log: TextIO,
    echo: Callable[[str], None] | None = None,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run `command` to completion, copying its merged stdout and stderr to `log` (and `echo`) line by line.

    Each line is flushed, so `tail -f step.log` follows a long step (training) while it runs. The child runs in a
    session of its own; if this process stops first (Ctrl-C, SIGTERM through `exit_with`, an error), the child and
    everything it started (loader workers, a pool's processes) are stopped with it, not left running.
    """
    process = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=None if env is None else dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    assert process.stdout is not None
    try:
        for line in process.stdout:
            log.write(line)
            log.flush()
            if echo is not None:
                echo(line.rstrip("\n"))
        return process.wait()
    finally:
        if process.poll() is None:
            _stop_session(process)


def _stop_session(process: subprocess.Popen[str]) -> None:
    """SIGTERM to the child's session, SIGKILL to whatever of it is left after the grace period."""
    os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(STOP_GRACE_S)
    with suppress(ProcessLookupError):  # the whole session had already ended
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def exit_with(main: Callable[[], int]) -> NoReturn:
    """Exit with `main`'s code; a reader that stops early (`status | head`) ends the output, not in a traceback.
    SIGTERM exits as Ctrl-C does, through every `finally` (so a running step is stopped, not orphaned)."""
    signal.signal(signal.SIGTERM, _terminated)
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the interpreter's last flush goes nowhere
        code = EXIT_BROKEN_PIPE
    sys.exit(code)


def _terminated(signum: int, frame: object) -> NoReturn:
    sys.exit(EXIT_TERMINATED)
