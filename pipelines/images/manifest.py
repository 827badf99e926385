"""The images manifest: which pushed image runs each component, written by `make build-components`.

The SageMaker compiler and the docker launcher read image URIs from here (or from settings), never from the specs'
short names, so a pipeline always runs exactly the image that was built and pushed.
"""

from pathlib import Path

from pydantic import BaseModel, ValidationError


class ImagesManifestError(ValueError):
    """A manifest that is missing, unreadable or lacks a component; the message says which and how to fix it."""


class PushedImage(BaseModel):
    component: str
    version: str
    repository: str
    tag: str
    digest: str | None = None

    @property
    def uri(self) -> str:
        """Pinned by digest when the push reported one, so a re-tagged image never changes a compiled pipeline."""
        return f"{self.repository}@{self.digest}" if self.digest else f"{self.repository}:{self.tag}"


class ImagesManifest(BaseModel):
    registry: str
    git_commit: str | None = None
    images: dict[str, PushedImage] = {}

    @classmethod
    def load(cls, path: Path) -> "ImagesManifest":
        if not path.is_file():
            raise ImagesManifestError(f"no images manifest at {path}: run `make build-components` first")
        try:
            return cls.model_validate_json(path.read_text())
        except ValidationError as exc:
            raise ImagesManifestError(f"images manifest {path} is invalid: {exc}") from exc

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2) + "\n")

    def uri(self, component: str) -> str:
        if component not in self.images:
            built = ", ".join(sorted(self.images)) or "none"
            raise ImagesManifestError(
                f"component {component!r} has no image in the manifest (built: {built}):"
                f" run `make build-components COMPONENTS={component}`"
            )
        return self.images[component].uri
