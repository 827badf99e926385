"""The step cache: a step whose component version, params and input contents are unchanged is not run again."""

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from pydantic import BaseModel

from deepfake.components.dataset_files import DatasetFileError, resolve_inside
from deepfake.components.spec import ComponentSpec


class ArtifactRecord(BaseModel):
    path: Path
    sha256: str


class CacheEntry(BaseModel):
    execution_id: str
    step: str
    outputs: dict[str, ArtifactRecord]
    metrics: dict[str, list[float]] = {}  # what the producing run's log showed, for the record of a reuse


def hash_tree(path: Path) -> str:
    """Content hash of a file or folder: relative paths and file bytes, independent of timestamps.

    Only what a component may open is read (components/dataset_files.py): regular files, and links to regular files
    inside the folder. Any other entry (a link that leads out, dangles or loops, a FIFO, a device, a linked folder)
    counts by its name and kind alone, so hashing never opens a file outside the folder, blocks or fails on one.
    """
    root = path.resolve()
    digest = hashlib.sha256()
    if root.is_file():
        entries = [(root.name, root)]
    else:
        entries = sorted(
            (Path(folder, name).relative_to(root).as_posix(), Path(folder, name))
            for folder, folders, names in os.walk(root)
            for name in [*names, *(name for name in folders if Path(folder, name).is_symlink())]
        )
    for relative, entry in entries:
        digest.update(f"{relative}\0{_entry_digest(root, entry)}\n".encode())
    return digest.hexdigest()


def _entry_digest(root: Path, entry: Path) -> str:
    try:
        resolve_inside(root, entry)
    except DatasetFileError:
        return "not-a-file-inside"
    with entry.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def cache_key(spec: ComponentSpec, arguments: Mapping[str, str], input_hashes: Mapping[str, str]) -> str:
    """What makes a step's result reusable: the component version and entrypoint, its params, its inputs' bytes."""
    material = {
        "component": spec.name,
        "version": spec.version,
        "kind": spec.kind,
        "entrypoint": spec.entrypoint,
        "params": dict(sorted(arguments.items())),
        "inputs": dict(sorted(input_hashes.items())),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


class StepCache:
    """One JSON file per key under `<runs>/cache/`, pointing at the outputs of the run that produced them.

    Outputs inside the runs folder are stored relative to it, so the runs folder (or the checkout) can move.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def lookup(self, key: str) -> CacheEntry | None:
        path = self.folder / f"{key}.json"
        if not path.is_file():
            return None
        entry = self._moved(CacheEntry.model_validate_json(path.read_text()), lambda output: self._runs / output)
        if not all(output.path.is_dir() for output in entry.outputs.values()):
            return None
        return entry

    def store(self, key: str, entry: CacheEntry) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.folder / f".{key}.json.tmp"
        relative = self._moved(
            entry, lambda output: output.relative_to(self._runs) if output.is_relative_to(self._runs) else output
        )
        temporary.write_text(relative.model_dump_json(indent=2))
        temporary.replace(self.folder / f"{key}.json")

    @property
    def _runs(self) -> Path:
        return self.folder.parent.resolve()

    @staticmethod
    def _moved(entry: CacheEntry, move: Callable[[Path], Path]) -> CacheEntry:
        outputs = {
            name: output.model_copy(update={"path": move(output.path)}) for name, output in entry.outputs.items()
        }
        return entry.model_copy(update={"outputs": outputs})
