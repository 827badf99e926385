"""Artifact types: what a folder passed between steps holds, declared as data so it survives JSON export."""

import gzip
import tarfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

MAX_ARCHIVE_BYTES = 20 * 1024**3


class ArtifactError(ValueError):
    """A folder does not hold what its artifact type promises."""


class ArtifactType(BaseModel):
    """A named folder shape. `required_files` are glob patterns that must each match at least one file.

    `archive` names the single file the folder travels as between steps (SageMaker ships a training job's model as
    `model.tar.gz`); the runtime unpacks it before a component sees the folder.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Z][A-Za-z0-9]*$", description="Type name; wiring compares these.")
    description: str
    required_files: tuple[str, ...] = ()
    archive: str | None = None

    def check(self, folder: Path) -> None:
        if not folder.is_dir():
            raise ArtifactError(f"{self.name} at {folder}: not a folder ({self.description})")
        if self.archive and (folder / self.archive).is_file():
            return
        missing = [pattern for pattern in self.required_files if next(folder.glob(pattern), None) is None]
        if missing:
            raise ArtifactError(f"{self.name} at {folder}: no file matches {', '.join(missing)} ({self.description})")


def pack_archive(folder: Path, archive: Path) -> None:
    """Pack a folder's contents at the archive root, as SageMaker packs `/opt/ml/model`.

    Byte-identical for identical contents (no timestamps or owners), so the step cache sees an unchanged model.
    """

    def normalise(member: tarfile.TarInfo) -> tarfile.TarInfo:
        member.mtime, member.uid, member.gid, member.uname, member.gname = 0, 0, 0, "", ""
        return member

    with (
        archive.open("wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w") as tar,
    ):
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False, filter=normalise)


def unpack_archive(archive: Path, destination: Path, max_bytes: int = MAX_ARCHIVE_BYTES) -> None:
    """Extract regular files and folders only, each inside `destination`, with a size cap; tarfile's `data` filter
    (Python >= 3.11.4) also strips special permission bits. Older 3.11 releases (Debian bookworm's 3.11.2) get the
    same member checks, so an archive never writes outside its folder or creates links or devices."""
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        total = sum(member.size for member in members)
        if total > max_bytes:
            raise ArtifactError(f"{archive}: unpacks to {total} bytes, over the {max_bytes}-byte limit")
        root = destination.resolve()
        for member in members:
            target = (root / member.name).resolve()
            if not (member.isfile() or member.isdir()) or not target.is_relative_to(root):
                raise ArtifactError(
                    f"{archive}: member {member.name!r} is a link, device or path outside the archive's folder;"
                    " artifacts hold regular files only"
                )
            member.mode &= 0o755
        destination.mkdir(parents=True, exist_ok=True)
        if hasattr(tarfile, "data_filter"):
            tar.extractall(destination, members=members, filter="data")
        else:
            tar.extractall(destination, members=members)


JSON_REPORT = ArtifactType(
    name="JsonReport",
    description="a folder of JSON report files that conditions can read by JSON path",
    required_files=("*.json",),
)
