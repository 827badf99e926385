"""`python -m deepfake.pipelines images list | build`: the component images, as `make build-components` builds them."""

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from deepfake.pipelines.images.build import BuildRequest, build_images
from deepfake.pipelines.images.docker_cli import DockerError
from deepfake.pipelines.images.ecr import EcrError
from deepfake.pipelines.images.manifest import ImagesManifestError
from deepfake.pipelines.images.targets import ImageBuildError, image_targets
from deepfake.pipelines.settings import Settings

IMAGE_ERRORS = (DockerError, EcrError, ImageBuildError, ImagesManifestError)


def add_images_commands(commands: argparse._SubParsersAction) -> None:
    images = commands.add_parser("images", help="list, build and push the component images")
    actions = images.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="every image: component, version, repository name, Dockerfile")
    build = actions.add_parser(
        "build",
        help="build images; with --registry also push them and write the images manifest",
        description="Build each component image (repository root as context), tag it <registry>/<image>:<version>"
        " and :<tag>, push it and record its digest in the images manifest.",
    )
    build.add_argument("components", nargs="*", help="images to build, by component name (default: all)")
    build.add_argument(
        "--registry",
        help="ECR (<account>.dkr.ecr.<region>.amazonaws.com: logs in and creates repositories) or host:port"
        " (default: setting image_registry; none: build locally, no push)",
    )
    build.add_argument("--tag", help="second tag beside the version (default: the git short commit)")
    build.add_argument("--base-image", help="BASE_IMAGE build argument (default: each Dockerfile's)")
    build.add_argument("--manifest", type=Path, help="images manifest to write (default: setting images_manifest)")


def images_command(args: argparse.Namespace) -> int:
    if args.action == "list":
        for target in image_targets():
            print(f"{target.name:<20} {target.version:<8} {target.image:<28} {target.dockerfile}")
        return 0
    settings = Settings()
    names = tuple(name for item in args.components for name in item.replace(",", " ").split())
    try:
        request = BuildRequest(
            registry=args.registry or settings.image_registry,
            tag=args.tag,
            components=names,
            base_image=args.base_image,
            manifest=args.manifest or settings.images_manifest,
        )
    except ValidationError as exc:
        print(f"error: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    try:
        manifest = build_images(request)
    except IMAGE_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if manifest is None:
        print("built locally (no registry given, nothing pushed; the images manifest is unchanged)")
        return 0
    for name, image in sorted(manifest.images.items()):
        print(f"{name:<20} {image.uri}")
    print(f"images manifest: {request.manifest}")
    return 0
