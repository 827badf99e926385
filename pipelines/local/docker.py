"""Run each step attempt in its component's image with `docker run`: the local runner on the built containers.

The step's contract folder (`ml/`) is mounted as `/opt/ml` and each input read-only at its contract path, so the
container sees what SageMaker would give it. The container runs as the calling user (files it writes belong to
them), without network (as a SageMaker job with network isolation), and is removed when it exits.
"""

import os
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from deepfake.components.contract import DEFAULT_BASE_DIR, ContainerLayout, entry_arguments, truncate_reason
from deepfake.pipelines.images.docker_cli import DockerCli, DockerError
from deepfake.pipelines.images.manifest import ImagesManifestError
from deepfake.pipelines.images.resolver import REGISTRY_HOST, ImageResolver
from deepfake.pipelines.local.launch import Invocation
from deepfake.pipelines.processes import run_logged

LAUNCH_FAILED = 125  # docker's own code for "the container could not be started"


class DockerLauncher:
    def __init__(
        self,
        images: ImageResolver,
        docker: DockerCli | None = None,
        user: str | None = None,
        shm_size: str = "1g",
    ) -> None:
        self.images = images
        self.docker = docker or DockerCli()
        self.user = user or f"{os.getuid()}:{os.getgid()}"
        self.shm_size = shm_size  # PyTorch DataLoader workers share tensors through /dev/shm (64 MB by default)

    def launch(self, invocation: Invocation, echo: Callable[[str], None] | None) -> int:
        with invocation.log_file.open("a") as log:
            try:
                image = self.images.resolve(invocation.spec)
                if not REGISTRY_HOST.match(image) and not self.docker.image_exists(image):
                    raise ImagesManifestError(
                        f"image {image} is not on this machine: build it (`make build-components"
                        f" COMPONENTS={invocation.spec.name}` for this library's components) or point"
                        " DEEPFAKE_IMAGES_MANIFEST at a manifest of pushed images"
                    )
                command = self.command(invocation, image)
            except (ImagesManifestError, DockerError) as exc:
                return _refuse(invocation, log, str(exc))
            log.write(f"$ {' '.join(command)}\n")
            log.flush()
            try:
                return run_logged(command, log, echo)
            except FileNotFoundError:
                return _refuse(invocation, log, f"'{self.docker.executable}' not found: install docker")

    def command(self, invocation: Invocation, image: str) -> list[str]:
        """`docker run` with the contract folders mounted where the container layout expects them."""
        spec, layout = invocation.spec, invocation.layout
        inside = ContainerLayout(spec.kind, DEFAULT_BASE_DIR)
        mounts = [_bind(layout.base.resolve(), inside.base), *_link_targets(layout.base, read_only=False)]
        for name, source in invocation.inputs.items():
            # The mount point exists before docker runs, so it belongs to the user rather than to the daemon.
            layout.input_dir(name).mkdir(parents=True, exist_ok=True)
            mounts.append(_bind(source.resolve(), inside.input_dir(name), read_only=True))
            mounts += _link_targets(source, read_only=True)
        # --init: the entry is not PID 1, so SIGTERM (and Ctrl-C through docker's signal proxy) stops it.
        command = [self.docker.executable, "run", "--rm", "--init", "--network", "none", "--user", self.user]
        command += ["--shm-size", self.shm_size]
        for mount in mounts:
            command += ["--mount", mount]
        command += ["--entrypoint", spec.entrypoint[0], image, *spec.entrypoint[1:], *entry_arguments(spec.kind)]
        return [*command, *invocation.arguments]


def _link_targets(folder: Path, read_only: bool) -> list[str]:
    """Links at the top of a mounted folder that point outside it (the runner's checkpoints, an input given as its
    archive file) would dangle in the container: their targets are mounted at their own paths, where they resolve."""
    root = folder.resolve()
    mounts = []
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.is_symlink():
                target = Path(entry.path).resolve()
                if target.exists() and not target.is_relative_to(root):
                    mounts.append(_bind(target, target, read_only))
    return mounts


def _bind(source: Path, target: Path, read_only: bool = False) -> str:
    if "," in str(source):
        raise ImagesManifestError(f"cannot mount {source} into a container: its path contains a comma; move it")
    return f"type=bind,source={source},target={target}" + (",readonly" if read_only else "")


def _refuse(invocation: Invocation, log: TextIO, reason: str) -> int:
    """A step that cannot start fails like one that did: its reason in the failure file and the log."""
    log.write(f"{reason}\n")
    invocation.layout.failure_file.parent.mkdir(parents=True, exist_ok=True)
    invocation.layout.failure_file.write_text(truncate_reason(reason))
    return LAUNCH_FAILED
