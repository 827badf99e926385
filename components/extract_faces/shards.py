"""Packing a host's crops into tar shards (the WebDataset layout) once its videos are done, so the FaceDataset is a
few large files that SageMaker can stream, not millions of small ones.

Resumable like the rest of extract-faces: each shard is written to a temporary and renamed, the manifest naming the
shards is written after them, and the loose crops are removed only after that; a re-run on a finished output only
finishes the removal.
"""

import io
import tarfile
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Self

from deepfake.components.face_crops import SHARD_FOLDER, shard_image
from deepfake.components.manifests import FaceRecord, safe_relative_path


class ShardWriter:
    """Adds each face's crop to the current shard and returns the face pointing into it; `shard_size` crops a shard."""

    def __init__(self, output: Path, host: str, shard_size: int) -> None:
        self.output, self.host, self.shard_size = output, host, shard_size
        self.shards = 0
        self._archive: tarfile.TarFile | None = None
        self._members = 0

    def __enter__(self) -> Self:
        return self

    def add(self, face: FaceRecord) -> FaceRecord:
        if self._archive is None or self._members == self.shard_size:
            self._close()
            self._open()
        assert self._archive is not None
        data = safe_relative_path(self.output, face.image).read_bytes()
        member = tarfile.TarInfo(face.image)
        member.size, member.mode = len(data), 0o644  # mtime 0, no owner: the same crops give the same bytes
        self._archive.addfile(member, io.BytesIO(data))
        self._members += 1
        return face.model_copy(update={"image": shard_image(self._name(self.shards - 1), face.image)})

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if kind is None:
            self._close()
        elif self._archive is not None:
            self._archive.close()
            self._temporary(self.shards - 1).unlink(missing_ok=True)

    def _name(self, number: int) -> str:
        return f"{SHARD_FOLDER}/{self.host}-{number:05d}.tar"

    def _temporary(self, number: int) -> Path:
        final = self.output / self._name(number)
        return final.with_name(f".{final.name}.tmp")

    def _open(self) -> None:
        temporary = self._temporary(self.shards)
        temporary.parent.mkdir(parents=True, exist_ok=True)
        self._archive = tarfile.open(temporary, "w", format=tarfile.PAX_FORMAT)  # noqa: SIM115 (closed by _close)
        self._members = 0
        self.shards += 1

    def _close(self) -> None:
        if self._archive is not None:
            self._archive.close()
            self._temporary(self.shards - 1).replace(self.output / self._name(self.shards - 1))
            self._archive = None


def remove_loose(output: Path, images: Iterable[str]) -> None:
    """The packed crops' loose files, and the folders they leave empty; what is already gone is skipped."""
    folders = set()
    for image in images:
        path = safe_relative_path(output, image)
        path.unlink(missing_ok=True)
        folders.add(path.parent)
    for folder in sorted(folders, key=lambda path: -len(path.parts)):
        while folder != output and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
