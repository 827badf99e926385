"""A FaceDataset's crops in either layout: loose JPEGs (`faces/<video>/<frame>-<track>.jpg`), or members of tar
shards, the WebDataset layout (`shards/<host>-<number>.tar#<member>`), read by offset without extracting anything.

Shards let SageMaker stream a dataset of millions of crops (FastFile input mode) instead of downloading each file.
"""

import io
import os
import tarfile
from pathlib import Path
from typing import BinaryIO

from deepfake.components.manifests import safe_relative_path

SHARD_FOLDER = "shards"
MEMBER_SEPARATOR = "#"
MAX_CROP_BYTES = 16 << 20
"""A crop larger than this is refused: a 1024 px JPEG at quality 100 is well under it."""


def shard_image(shard: str, member: str) -> str:
    """The image field of a crop stored in `shard` (relative to the FaceDataset) as `member`."""
    return f"{shard}{MEMBER_SEPARATOR}{member}"


class FaceCrops:
    """Opens crops by their FaceRecord image field; every path is checked to stay inside the FaceDataset, and each
    shard's member index is read once a process (its headers only)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._shards: dict[str, tuple[int, dict[str, tuple[int, int]]]] = {}

    def __getstate__(self) -> dict[str, Path]:
        """Pickled (a spawned loader worker) without its open shards: descriptors mean nothing in another process."""
        return {"root": self.root}

    def __setstate__(self, state: dict[str, Path]) -> None:
        self.__init__(state["root"])  # type: ignore[misc]

    def exists(self, image: str) -> bool:
        shard, _, member = image.partition(MEMBER_SEPARATOR)
        if not member:
            return safe_relative_path(self.root, image).is_file()
        return member in self._shard(shard)[1]

    def open(self, image: str) -> BinaryIO:
        shard, _, member = image.partition(MEMBER_SEPARATOR)
        if not member:
            return safe_relative_path(self.root, image).open("rb")
        descriptor, members = self._shard(shard)
        if member not in members:
            raise ValueError(f"face image {image}: {shard} has no member {member!r}; re-run extract-faces")
        offset, size = members[member]
        data = io.BytesIO(os.pread(descriptor, size, offset))
        data.name = image  # what load_face's error names
        return data

    def _shard(self, shard: str) -> tuple[int, dict[str, tuple[int, int]]]:
        if shard not in self._shards:
            path = safe_relative_path(self.root, shard)
            members = {}
            try:
                with tarfile.open(path, "r:") as archive:
                    for member in archive:
                        if member.isfile() and member.size <= MAX_CROP_BYTES:
                            members[member.name] = (member.offset_data, member.size)
            except (OSError, tarfile.TarError) as exc:
                raise ValueError(f"shard {shard} cannot be read ({exc}): re-run extract-faces") from exc
            self._shards[shard] = (os.open(path, os.O_RDONLY), members)
        return self._shards[shard]
