"""The docker command line, as the image build and the docker launcher use it.

Both talk to the daemon through the `docker` CLI rather than an SDK: it is what users have, it reads their login
configuration, and the same commands appear in the README for doing each step by hand.
"""

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from deepfake.pipelines.processes import run_logged


class DockerError(RuntimeError):
    """A docker command failed; the message holds the command and what docker printed."""


class DockerCli:
    def __init__(self, executable: str = "docker", out: TextIO = sys.stderr) -> None:
        self.executable = executable
        self.out = out

    def build(
        self,
        dockerfile: Path,
        context: Path,
        tags: Sequence[str],
        build_args: dict[str, str],
        stage: str | None = None,
    ) -> None:
        command = ["build", "--file", str(dockerfile)] + (["--target", stage] if stage else [])
        for tag in tags:
            command += ["--tag", tag]
        for name, value in build_args.items():
            command += ["--build-arg", f"{name}={value}"]
        self.stream([*command, str(context)])

    def push(self, reference: str) -> None:
        self.stream(["push", reference])

    def pull(self, reference: str) -> None:
        self.stream(["pull", reference])

    def login(self, registry: str, username: str, password: str) -> None:
        """The password travels on stdin, never on a command line that `ps` would show."""
        self.capture(["login", "--username", username, "--password-stdin", registry], stdin=password)

    def image_exists(self, reference: str) -> bool:
        return self._run(["image", "inspect", reference]).returncode == 0

    def inspect_image(self, reference: str) -> dict:
        return json.loads(self.capture(["image", "inspect", reference]))[0]

    def remove_image(self, reference: str) -> None:
        self.capture(["image", "rm", reference])

    def containers(self, name: str) -> set[str]:
        """Ids of the containers, running or not, whose name contains `name`."""
        return set(self.capture(["ps", "--all", "--quiet", "--no-trunc", "--filter", f"name={name}"]).split())

    def remove_containers(self, ids: set[str]) -> None:
        if ids:
            self.capture(["rm", "--force", *sorted(ids)])

    def repo_digest(self, reference: str, repository: str) -> str:
        """The registry digest of a pushed image (`sha256:...`), as the registry reported it to the daemon."""
        for entry in self.inspect_image(reference).get("RepoDigests") or []:
            name, _, digest = entry.partition("@")
            if name == repository and digest:
                return digest
        raise DockerError(f"{reference} has no digest for {repository} after the push: is the push complete?")

    def capture(self, arguments: Sequence[str], stdin: str | None = None) -> str:
        completed = self._run(arguments, stdin)
        if completed.returncode != 0:
            shown = " ".join([self.executable, *arguments[:2]])
            raise DockerError(f"`{shown} ...` failed ({completed.returncode}): {completed.stderr.strip()}")
        return completed.stdout

    def stream(self, arguments: Sequence[str]) -> None:
        """Run a long command (build, push, pull) with its output shown as it comes."""
        try:
            code = run_logged([self.executable, *arguments], self.out)
        except FileNotFoundError as exc:
            raise DockerError(f"'{self.executable}' not found: install docker (README, 'Container images')") from exc
        if code != 0:
            raise DockerError(f"`docker {' '.join(arguments[:1])} ... {arguments[-1]}` failed with exit code {code}")

    def _run(self, arguments: Sequence[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [self.executable, *arguments], input=stdin, capture_output=True, text=True, check=False
            )
        except FileNotFoundError as exc:
            raise DockerError(f"'{self.executable}' not found: install docker (README, 'Container images')") from exc
