"""The one rule for opening anything under a dataset root, for every reader, extract-faces and the local runner.

A file under a root is used only when it is a regular file whose resolved path stays inside the root: a link that
leads out, dangles or loops, a FIFO, a device or a socket is never opened, and a file read whole (a metadata.json,
a split list, a labels CSV) has a size cap. Anything else is a DatasetFileError naming the file and the fix, which
readers turn into a rejection and the runner into a step failure, never a hang or a traceback.
"""

import os
import stat
from pathlib import Path

MAX_LISTING_BYTES = 256 * 1024**2  # a metadata.json, a split list or a labels CSV; DFDC's largest is ~1 MB


class DatasetFileError(ValueError):
    """A file under a dataset root that may not be opened; the message names it and says why."""


def resolve_inside(root: Path, path: Path) -> Path:
    """`path` resolved, refused unless it is a regular file inside `root` (links followed, but only inside)."""
    shown = _shown(root, path)
    if not os.path.lexists(path):
        raise DatasetFileError(f"missing file {shown}")
    try:
        resolved = path.resolve(strict=True)
        inside = resolved.is_relative_to(root.resolve(strict=True))
        mode = resolved.stat().st_mode
    except RuntimeError as exc:  # a symlink loop (Python 3.11 raises RuntimeError, not OSError)
        raise DatasetFileError(f"{shown} is a symlink loop; replace it with the file it should be") from exc
    except OSError as exc:
        raise DatasetFileError(f"{shown} is a link to a missing file ({exc.strerror or exc}); fix it") from exc
    if not inside:
        raise DatasetFileError(f"{shown} is a link to {resolved}, outside the dataset root; copy the file in instead")
    if not stat.S_ISREG(mode):
        raise DatasetFileError(f"{shown} is not a regular file (a FIFO, device, socket or folder); remove it")
    return resolved


def read_bytes(root: Path, path: Path, max_bytes: int = MAX_LISTING_BYTES) -> bytes:
    """The whole file, after `resolve_inside`, refused past `max_bytes` (checked again on the open descriptor)."""
    resolved = resolve_inside(root, path)
    # O_NONBLOCK: were the file swapped for a FIFO after the check, opening it must not block.
    descriptor = os.open(resolved, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise DatasetFileError(f"{_shown(root, path)} is not a regular file; remove it")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise DatasetFileError(f"{_shown(root, path)} is over the {max_bytes}-byte limit for a listing file")
    return data


def read_text(root: Path, path: Path, max_bytes: int = MAX_LISTING_BYTES) -> str:
    """UTF-8 text (a byte-order mark is dropped, as spreadsheet exports write one), under the same rule."""
    data = read_bytes(root, path, max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetFileError(
            f"{_shown(root, path)} is not UTF-8 text (byte offset {exc.start}: {data[exc.start : exc.start + 1]!r});"
            " save it as UTF-8"
        ) from exc


def _shown(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
