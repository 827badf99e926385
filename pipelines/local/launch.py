"""How one attempt of a component step is started: the only part that differs between local runners."""

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from deepfake.components.contract import BASE_DIR_ENV, ContainerLayout, entry_arguments
from deepfake.components.spec import ComponentSpec
from deepfake.pipelines.processes import run_logged


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
        command = [*invocation.spec.entrypoint, *entry_arguments(invocation.spec.kind)]
        if command[0] in ("python", "python3"):
            command[0] = sys.executable
        env = dict(os.environ)
        env[BASE_DIR_ENV] = str(invocation.layout.base.resolve())
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        with invocation.log_file.open("a") as log:
            return run_logged([*command, *invocation.arguments], log, echo, cwd=invocation.layout.base, env=env)
