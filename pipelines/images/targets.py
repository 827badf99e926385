"""What `make build-components` builds: every folder of the components package that holds a Dockerfile.

A pipeline stage names its image in its `COMPONENT` (component.py); an image that is not a stage (serve) names it
with `NAME`, `VERSION` and `IMAGE` in its package, light to import.
"""

import importlib
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from deepfake.components.definition import Component

COMPONENTS_FOLDER = Path("components")  # the library's components, from the repository root (the build context)
COMPONENTS_PACKAGE = "deepfake.components"
DEPS_DOCKERFILE = COMPONENTS_FOLDER / "deps.Dockerfile"
DEPS_IMAGE = re.compile(r"^ARG DEPS_IMAGE=deepfake/deps-(?P<stage>[a-z]+)$", re.MULTILINE)


def deps_image(stage: str) -> str:
    """The local tag of a deps.Dockerfile stage; a component Dockerfile names it as its DEPS_IMAGE default."""
    return f"deepfake/deps-{stage}"


class ImageBuildError(RuntimeError):
    """An image cannot be built or pushed as asked; the message names the image or option and the fix."""


class ImageTarget(BaseModel):
    """One buildable image: the component (or server) it runs and the Dockerfile that builds it."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: str
    image: str = Field(description="Repository name without registry or tag, e.g. deepfake/split-dataset.")
    dockerfile: Path
    deps: str = Field(description="The deps.Dockerfile stage the image starts from (its DEPS_IMAGE default).")


def image_targets(folder: Path = COMPONENTS_FOLDER, package: str = COMPONENTS_PACKAGE) -> list[ImageTarget]:
    """Every `<folder>/<stage>/Dockerfile`, where `folder` holds the package `package`, sorted by name."""
    targets = []
    for dockerfile in sorted(folder.glob("*/Dockerfile")):
        declared = _declared_image(dockerfile, package)
        if declared is None:
            module_name = f"{package}.{dockerfile.parent.name}"
            component = getattr(importlib.import_module(f"{module_name}.component"), "COMPONENT", None)
            if not isinstance(component, Component):
                raise ImageBuildError(
                    f"{dockerfile}: its folder defines no COMPONENT in component.py and no NAME, VERSION and IMAGE in"
                    f" {module_name}; add one of them or remove the Dockerfile"
                )
            declared = ImageTarget(
                name=component.name,
                version=component.version,
                image=component.image,
                dockerfile=dockerfile,
                deps=deps_stage(dockerfile),
            )
        targets.append(declared)
    return sorted(targets, key=lambda target: target.name)


def _declared_image(dockerfile: Path, package: str) -> ImageTarget | None:
    """The image a folder's package names itself with NAME, VERSION and IMAGE (light to import), if it does."""
    module = importlib.import_module(f"{package}.{dockerfile.parent.name}")
    if not all(hasattr(module, attribute) for attribute in ("NAME", "VERSION", "IMAGE")):
        return None
    return ImageTarget(
        name=module.NAME, version=module.VERSION, image=module.IMAGE, dockerfile=dockerfile, deps=deps_stage(dockerfile)
    )


def deps_stage(dockerfile: Path) -> str:
    deps = DEPS_IMAGE.search(dockerfile.read_text())
    if deps is None:
        raise ImageBuildError(
            f"{dockerfile}: it must start from a stage of {DEPS_DOCKERFILE.name}: `ARG DEPS_IMAGE="
            f"{deps_image('<stage>')}` then `FROM ${{DEPS_IMAGE}}`"
        )
    return deps.group("stage")


def select(targets: list[ImageTarget], names: tuple[str, ...]) -> list[ImageTarget]:
    if not names:
        return targets
    known = {target.name: target for target in targets}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ImageBuildError(
            f"COMPONENTS: no image named {', '.join(unknown)}; the images are {', '.join(sorted(known))}"
        )
    return [known[name] for name in dict.fromkeys(names)]


def named_image(repository: str) -> ImageTarget:
    """An image that is not a step (the serving image of a register step), by its repository. Only the light package
    modules that declare IMAGE are imported, not every component (which would load torch to compile a pipeline)."""
    folder = Path(importlib.import_module(COMPONENTS_PACKAGE).__file__ or "").parent
    for dockerfile in sorted(folder.glob("*/Dockerfile")):
        declared = _declared_image(dockerfile, COMPONENTS_PACKAGE)
        if declared is not None and declared.image == repository:
            return declared
    raise ImageBuildError(
        f"image '{repository}': no package of the components folder declares IMAGE = {repository!r} (with NAME and"
        " VERSION) beside a Dockerfile; fix the register step's image"
    )
