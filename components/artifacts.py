"""Artifact types: what a folder passed between steps holds, declared as data so it survives JSON export."""

import gzip
import shutil
import tarfile
import zlib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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


class ArchiveLimits(BaseSettings):
    """Bounds on unpacking an archive that comes from outside (a model.tar.gz), checked member by member as the
    archive streams, so a small archive cannot fill the disk or take minutes before it is refused."""

    model_config = SettingsConfigDict(env_prefix="DEEPFAKE_ARCHIVE_", extra="ignore")

    max_bytes: int = Field(MAX_ARCHIVE_BYTES, gt=0, description="Most bytes an archive unpacks to.")
    max_members: int = Field(10_000, gt=0, description="Most files and folders in an archive (a model has two).")
    max_ratio: float = Field(
        100, gt=1, description="Most unpacked bytes per packed byte, past ratio_floor_bytes (weights barely compress)."
    )
    ratio_floor_bytes: int = Field(
        256 * 1024**2, ge=0, description="Unpacked bytes always allowed, whatever the ratio (a zeroed test model)."
    )

    def allowed_bytes(self, packed: int) -> int:
        return min(self.max_bytes, max(self.ratio_floor_bytes, int(self.max_ratio * packed)))


def unpack_archive(archive: Path, destination: Path, limits: ArchiveLimits | None = None) -> None:
    """Extract regular files and folders only, each inside `destination`, within `limits`, in one streaming pass;
    tarfile's `data` filter (Python >= 3.11.4) also strips special permission bits. Older 3.11 releases (Debian
    bookworm's 3.11.2) get the same member checks, so an archive never writes outside its folder or creates links or
    devices. A refused or unreadable archive leaves nothing it extracted behind."""
    limits = limits or ArchiveLimits()
    packed = archive.stat().st_size
    allowed = limits.allowed_bytes(packed)
    destination.mkdir(parents=True, exist_ok=True)
    root = destination.resolve()
    written: list[Path] = []
    try:
        with tarfile.open(archive, "r|*") as tar:
            total = 0
            for count, member in enumerate(tar, start=1):
                total += member.size
                if count > limits.max_members:
                    raise ArtifactError(
                        f"{archive}: more than {limits.max_members} members (DEEPFAKE_ARCHIVE_MAX_MEMBERS); a model"
                        " archive holds a few files"
                    )
                if total > allowed:
                    raise ArtifactError(
                        f"{archive}: unpacks to more than {allowed} bytes from {packed} (limits:"
                        f" DEEPFAKE_ARCHIVE_MAX_BYTES {limits.max_bytes},"
                        f" DEEPFAKE_ARCHIVE_MAX_RATIO {limits.max_ratio:g})"
                    )
                target = (root / member.name).resolve()
                if not (member.isfile() or member.isdir()) or not target.is_relative_to(root):
                    raise ArtifactError(
                        f"{archive}: member {member.name!r} is a link, device or path outside the archive's folder;"
                        " artifacts hold regular files only"
                    )
                member.mode &= 0o755
                if hasattr(tarfile, "data_filter"):
                    tar.extract(member, destination, filter="data")
                else:
                    tar.extract(member, destination)
                written.append(target)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        _remove(written)
        raise ArtifactError(
            f"{archive}: not a readable tar.gz archive ({exc}); pass the file train-classifier wrote"
        ) from exc
    except ArtifactError:
        _remove(written)
        raise


def _remove(paths: list[Path]) -> None:
    for path in reversed(paths):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


JSON_REPORT = ArtifactType(
    name="JsonReport",
    description="a folder of JSON report files that conditions can read by JSON path",
    required_files=("*.json",),
)
