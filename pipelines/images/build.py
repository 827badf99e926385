"""`make build-components`: build each component image, tag it, push it and record what was pushed.

Every folder of the components package that holds a Dockerfile is an image. A pipeline stage names its image in
its `COMPONENT` (component.py); an image that is not a stage (serve) names it with `NAME`, `VERSION` and `IMAGE` in
its package. Each image is built with the repository root as context and tagged `<registry>/<image>:<version>` and
`:<tag>` (the git commit by default). After a push, the images manifest maps each component to its repository and
pushed digest; the SageMaker compiler and the docker launcher read image URIs from there.
"""

import re
import subprocess
import sys
from pathlib import Path
from typing import TextIO

from pydantic import BaseModel, ConfigDict, Field, field_validator

from deepfake.pipelines.images.docker_cli import DockerCli
from deepfake.pipelines.images.ecr import EcrRegistry, ensure_repositories, login_credentials
from deepfake.pipelines.images.manifest import ImagesManifest, PushedImage
from deepfake.pipelines.images.targets import COMPONENTS_FOLDER, DEPS_DOCKERFILE, deps_image, image_targets, select

REGISTRY = re.compile(r"^[A-Za-z0-9.-]+(?::\d{1,5})?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class BuildRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    registry: str | None = Field(None, description="ECR (<account>.dkr.ecr.<region>.amazonaws.com) or host:port.")
    tag: str | None = Field(None, description="Second tag beside the version; default: the git commit.")
    components: tuple[str, ...] = Field((), description="Names to build; empty: every image.")
    base_image: str | None = Field(None, description="BASE_IMAGE of the deps stages; default: deps.Dockerfile's.")
    manifest: Path = Path("build/images.json")
    context: Path = Path(".")

    @field_validator("registry")
    @classmethod
    def _registry(cls, value: str | None) -> str | None:
        if value is not None and not REGISTRY.fullmatch(value):
            raise ValueError(
                f"registry {value!r} must be a host with an optional :port and path, without a scheme, e.g."
                " 123456789012.dkr.ecr.eu-west-1.amazonaws.com or 127.0.0.1:5000"
            )
        return value

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str | None) -> str | None:
        if value is not None and not TAG.fullmatch(value):
            raise ValueError(f"tag {value!r} is not a docker tag: letters, digits, '_', '.', '-'; at most 128")
        return value


def git_tag(context: Path) -> str | None:
    """The short commit, `-dirty` when files changed or were added (the image may hold code no commit has)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=context, capture_output=True, text=True, check=True
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "status", "--porcelain"], cwd=context, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{commit}-dirty" if changes else commit


def build_images(
    request: BuildRequest, docker: DockerCli | None = None, out: TextIO = sys.stderr
) -> ImagesManifest | None:
    """Build (and with a registry, push) the requested images; return the manifest written, or None without a push."""
    docker = docker or DockerCli(out=out)
    targets = select(image_targets(request.context / COMPONENTS_FOLDER), request.components)
    tag = request.tag or git_tag(request.context)
    ecr = EcrRegistry.parse(request.registry) if request.registry else None
    if ecr is not None:
        client = ecr.client()
        username, password = login_credentials(ecr, client)
        docker.login(ecr.host, username, password)
        for name in ensure_repositories(ecr, client, [target.image for target in targets]):
            print(f"created ECR repository {name} (scan on push)", file=out)
    build_args = {"BASE_IMAGE": request.base_image} if request.base_image else {}
    for stage in dict.fromkeys(target.deps for target in targets):
        print(f"building deps stage {stage} → {deps_image(stage)}", file=out)
        docker.build(request.context / DEPS_DOCKERFILE, request.context, [deps_image(stage)], build_args, stage)
    pushed = {}
    for target in targets:
        repository = f"{request.registry}/{target.image}" if request.registry else target.image
        references = [f"{repository}:{target.version}"] + ([f"{repository}:{tag}"] if tag else [])
        print(f"building {target.name} → {', '.join(references)}", file=out)
        docker.build(target.dockerfile, request.context, references, {})
        if request.registry is None:
            continue
        for reference in references:
            docker.push(reference)
        pushed[target.name] = PushedImage(
            component=target.name,
            version=target.version,
            repository=repository,
            tag=tag or target.version,
            digest=docker.repo_digest(references[-1], repository),
        )
    if request.registry is None:
        return None
    manifest = merged_manifest(request.manifest, request.registry, tag)
    manifest.images.update(pushed)
    manifest.save(request.manifest)
    return manifest


def merged_manifest(path: Path, registry: str, git_commit: str | None) -> ImagesManifest:
    """The manifest at `path` when it describes the same registry (a partial build updates it), else a new one."""
    if path.is_file():
        existing = ImagesManifest.load(path)
        if existing.registry == registry:
            return existing.model_copy(update={"git_commit": git_commit})
    return ImagesManifest(registry=registry, git_commit=git_commit)
