"""Which image runs a component: the images manifest's pushed digest, else `[<registry>/]<image>:<version>`.

The docker launcher and the SageMaker compiler both ask this, so a pipeline runs exactly the image that was pushed.
"""

import re
from typing import Protocol

from deepfake.pipelines.images.manifest import ImagesManifest, ImagesManifestError
from deepfake.pipelines.settings import Settings

REGISTRY_HOST = re.compile(r"^(localhost|[^/]*[.:][^/]*)/")


class NamedImage(Protocol):
    """A component spec, or an image that is not a step (serve): what an image URI is made from."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def image(self) -> str: ...


class ImageResolver:
    """Which image runs a component: the images manifest's pushed digest, else `[<registry>/]<image>:<version>`."""

    def __init__(self, manifest: ImagesManifest | None = None, registry: str | None = None) -> None:
        self.manifest = manifest
        self.registry = registry

    @classmethod
    def from_settings(cls, settings: Settings) -> "ImageResolver":
        path = settings.images_manifest
        return cls(ImagesManifest.load(path) if path.is_file() else None, settings.image_registry)

    def resolve(self, spec: NamedImage) -> str:
        if self.manifest is not None and spec.name in self.manifest.images:
            pushed = self.manifest.images[spec.name]
            if pushed.version != spec.version:
                raise ImagesManifestError(
                    f"component '{spec.name}': the images manifest holds version {pushed.version}, the pipeline uses"
                    f" {spec.version}: run `make build-components COMPONENTS={spec.name} REGISTRY=...`"
                )
            return pushed.uri
        prefix = f"{self.registry}/" if self.registry else ""
        return f"{prefix}{spec.image}:{spec.version}"
