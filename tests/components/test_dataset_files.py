"""The one rule for files under a dataset root: regular files inside it, size-capped, never a hang."""

import os
from pathlib import Path

import pytest

from deepfake.components.dataset_files import DatasetFileError, read_text, resolve_inside


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "dataset"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "inside.json").write_text("{}")
    (tmp_path / "outside.json").write_text('{"stolen": true}')
    return root


def test_a_regular_file_and_a_link_to_one_inside_the_root_are_read(root: Path) -> None:
    (root / "link.json").symlink_to(root / "sub" / "inside.json")
    assert read_text(root, root / "sub" / "inside.json") == "{}"
    assert read_text(root, root / "link.json") == "{}"


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda root: (root / "x").symlink_to(root.parent / "outside.json"), "outside the dataset root"),
        (lambda root: (root / "x").symlink_to("/dev/zero"), "outside the dataset root"),
        (lambda root: os.mkfifo(root / "x"), "not a regular file"),
        (lambda root: (root / "x").symlink_to(root / "gone"), "a link to a missing file"),
        (lambda root: ((root / "x").symlink_to(root / "y"), (root / "y").symlink_to(root / "x")), "symlink loop"),
        (lambda root: (root / "x").mkdir(), "not a regular file"),
    ],
    ids=["link-outside", "link-to-dev-zero", "fifo", "dangling", "loop", "folder"],
)
def test_anything_but_a_regular_file_inside_is_refused_without_opening_it(root: Path, make, problem: str) -> None:
    make(root)
    with pytest.raises(DatasetFileError, match=problem) as caught:
        read_text(root, root / "x")
    assert str(caught.value).startswith("x "), "the message names the file by its path in the dataset"


def test_a_listing_file_over_its_cap_is_refused(root: Path) -> None:
    (root / "big.json").write_text("x" * 101)
    assert read_text(root, root / "big.json", max_bytes=101)
    with pytest.raises(DatasetFileError, match=r"big\.json is over the 100-byte limit"):
        read_text(root, root / "big.json", max_bytes=100)


def test_a_byte_order_mark_is_dropped_and_other_encodings_are_named(root: Path) -> None:
    (root / "bom.json").write_bytes(b"\xef\xbb\xbf{}")
    (root / "latin1.csv").write_bytes("path,label\ncaf\xe9.mp4,REAL\n".encode("latin-1"))
    assert read_text(root, root / "bom.json") == "{}"
    with pytest.raises(
        DatasetFileError, match=r"latin1.csv is not UTF-8 text \(byte offset 14: b'\\xe9'\); save it as UTF-8"
    ):
        read_text(root, root / "latin1.csv")


def test_resolve_inside_returns_the_file_a_link_names(root: Path) -> None:
    (root / "link.json").symlink_to("sub/inside.json")
    assert resolve_inside(root, root / "link.json") == (root / "sub" / "inside.json").resolve()
