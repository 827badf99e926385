"""Processes: a child whose output is kept line by line (step attempts, docker builds and pushes), and the exit of
this one's commands."""

import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

EXIT_BROKEN_PIPE = 141  # what a shell reports for a writer killed by SIGPIPE


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


def exit_with(main: Callable[[], int]) -> NoReturn:
    """Exit with `main`'s code; a reader that stops early (`status | head`) ends the output, not in a traceback."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the interpreter's last flush goes nowhere
        code = EXIT_BROKEN_PIPE
    sys.exit(code)
