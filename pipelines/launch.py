"""How one attempt of a component step is started: the only part that differs between local runners."""

import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from components.contract import BASE_DIR_ENV, ContainerLayout
from components.spec import ComponentSpec


@dataclass(frozen=True)
class Invocation:
    """One attempt: the contract folders are laid out under `layout.base`; inputs are folders on this machine."""

    spec: ComponentSpec
    layout: ContainerLayout
    inputs: Mapping[str, Path]
    arguments: list[str]
    log_file: Path


class Launcher(Protocol):
    def launch(self, invocation: Invocation, echo: Callable[[str], None] | None) -> int:
        """Run the attempt to completion, writing its output to `invocation.log_file`; return the exit code."""
        ...


class SubprocessLauncher:
    """Runs the component's entrypoint as a child process, with `SAGEMAKER_BASE_DIR` pointing at the step folder.

    The entry module must be importable here: the caller's working directory is put on `PYTHONPATH`, as `python -m`
    would.
    """

    def launch(self, invocation: Invocation, echo: Callable[[str], None] | None) -> int:
        for name, source in invocation.inputs.items():
            target = invocation.layout.input_dir(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source.resolve(), target_is_directory=True)
        command = list(invocation.spec.entrypoint)
        if command[0] in ("python", "python3"):
            command[0] = sys.executable
        if invocation.spec.kind == "training":
            command.append("train")
        env = dict(os.environ)
        env[BASE_DIR_ENV] = str(invocation.layout.base.resolve())
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        with invocation.log_file.open("a") as log:
            return run_logged([*command, *invocation.arguments], log, echo, cwd=invocation.layout.base, env=env)


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
