"""One reader per dataset layout: each turns a dataset root into labelled, grouped entries, and auto-detection.

A reader only lists; it never opens a video. Entries it cannot label go straight to `rejected` with a reason, and the
component checks every listed path (inside the root, present, decodable) the same way whatever the format. Listing
files (metadata.json, split lists, the labels CSV) are read through `dataset_files`: regular files inside the root,
size-capped, UTF-8 with or without a byte-order mark.

What each layout is, and where it was checked (official pages first; where they are silent, the reading shared by
public loaders of the dataset, found by searching their code):

- DFDC (Kaggle Deepfake Detection Challenge): each `dfdc_train_part_N/metadata.json` maps a file name to
  `{"label": "REAL"|"FAKE", "split": "train", "original": "<file name>"}`. The competition's data page, as quoted in
  public READMEs, lists `filename`, `label`, `original` ("in the case that a train set video is FAKE, the original
  video is listed here") and `split`. The original sits in the same part folder; REAL entries carry none or `null`.
- FaceForensics++ (github.com/ondyari/FaceForensics, dataset/README.md, dataset/splits/*.json): originals are
  "renamed to integers between 0 and 999", under `original_sequences/youtube/<c0|raw|c23|c40>/videos/`; the official
  splits are lists of pairs (`[["720", "672"], ...]`) and both originals of a pair and both manipulations `720_672`,
  `672_720` share its split. The README does not state the pair order; public loaders read `000_003.mp4` as target
  video `000` given the face of `003`, so it derives from original `000`. Downloads also hold `masks/videos/` beside
  each compression; those are not faces and are not listed. The DeepFakeDetection (Google/Jigsaw DFD) page there
  says nothing of names; released files such as `01_02__meeting_serious__YVGY8LOK.mp4` (target actor `01`, donor
  `02`, scene, a random tag) are read as made on the actors original `01__meeting_serious.mp4`: `<target>__<scene>`.
- Celeb-DF v2 (github.com/yuezunli/celeb-deepfakeforensics, Celeb-DF-v2/README.md): `Celeb-real/` (590),
  `YouTube-real/` (300), `Celeb-synthesis/` (5639, "synthesized videos from Celeb-real") and
  `List_of_testing_videos.txt` (518 videos). The README shows neither the list's lines nor the synthesis names:
  the list holds lines such as `1 YouTube-real/00170.mp4` and `0 Celeb-synthesis/id0_id16_0000.mp4`, where 1 means
  REAL, and `idA_idB_NNNN` is the face of `idB` put on clip `NNNN` of `idA`, i.e. made on `Celeb-real/idA_NNNN.mp4`.
- CSV: this project's own format, `path,label[,group][,split][,method]` with paths relative to the dataset root.
- unlabeled: every video file under the root, with no label, for batch scoring; never auto-detected, since a
  labelled dataset is a folder of videos too.
"""

import csv
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from deepfake.components.dataset_files import DatasetFileError, read_text
from deepfake.components.manifests import Label, RejectedVideo, Split, safe_relative_path

DatasetFormat = Literal["dfdc", "faceforensics", "celeb-df", "csv", "unlabeled"]

DFDC_METADATA = "metadata.json"
# Detection looks two levels down only: a recursive walk of an FF++ tree of extracted frames takes minutes.
DFDC_DETECT_PATTERNS = (DFDC_METADATA, f"*/{DFDC_METADATA}", f"*/*/{DFDC_METADATA}")
FF_ORIGINALS = "original_sequences"
FF_MANIPULATED = "manipulated_sequences"
FF_SPLITS = "splits"
FF_DFD_METHOD = "DeepFakeDetection"
# Only the video folders of each compression; `masks/videos/` holds the manipulation masks, which are not faces.
FF_COMPRESSIONS = ("c0", "raw", "c23", "c40")
CELEB_REAL, CELEB_YOUTUBE, CELEB_SYNTHESIS = "celeb-real", "youtube-real", "celeb-synthesis"
CELEB_FOLDER_NAMES = {CELEB_REAL: "Celeb-real", CELEB_YOUTUBE: "YouTube-real", CELEB_SYNTHESIS: "Celeb-synthesis"}
CELEB_TEST_LIST = "List_of_testing_videos.txt"
CSV_COLUMNS = ("path", "label", "group", "split", "method")
CSV_REQUIRED = ("path", "label")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")

SPLIT_NAMES: dict[str, Split] = {"train": "train", "val": "validation", "validation": "validation", "test": "test"}
NAMED_LABELS: dict[str, Label] = {"real": 0, "fake": 1}
CSV_LABELS: dict[str, Label] = {**NAMED_LABELS, "0": 0, "1": 1}

FF_PAIR_NAME = re.compile(r"(?P<target>\d+)_(?P<source>\d+)")
FF_DFD_NAME = re.compile(r"(?P<target>\d+)_(?P<source>\d+)__(?P<scene>.+)__(?P<tag>[A-Za-z0-9]+)")
CELEB_SYNTHESIS_NAME = re.compile(r"(?P<target>id\d+)_(?P<source>id\d+)_(?P<clip>\d+)")


@dataclass(frozen=True)
class ListedVideo:
    """One dataset entry before its file is checked. `group` None means the video is its own group."""

    path: str
    label: Label | None
    group: str | None = None
    source_split: Split | None = None
    method: str | None = None


@dataclass
class Listing:
    videos: list[ListedVideo] = field(default_factory=list)
    rejected: list[RejectedVideo] = field(default_factory=list)

    def reject(self, path: str, reason: str) -> None:
        self.rejected.append(RejectedVideo(path=path, reason=reason))


def video_id(relative: str) -> str:
    """The relative path without its suffix: unique even where FF++ reuses a file name under every method."""
    path = PurePosixPath(relative.replace("\\", "/"))
    return path.with_suffix("").as_posix() if path.suffix else path.as_posix()


def detect_format(root: Path, csv_file: str) -> DatasetFormat:
    """Pick the layout from what is at the root; refuse to guess when none or several layouts match."""
    found: list[DatasetFormat] = []
    if (root / FF_ORIGINALS).is_dir() or (root / FF_MANIPULATED).is_dir():
        found.append("faceforensics")
    if _celeb_folders(root):
        found.append("celeb-df")
    if any(next(root.glob(pattern), None) for pattern in DFDC_DETECT_PATTERNS):
        found.append("dfdc")
    if (root / csv_file).is_file():
        found.append("csv")
    if len(found) == 1:
        return found[0]
    if not found:
        raise ValueError(
            f"cannot tell the dataset format of {root}: looked for {DFDC_METADATA} (DFDC, up to two folders down), "
            f"{FF_ORIGINALS}/ or {FF_MANIPULATED}/ (FaceForensics++), Celeb-real/, YouTube-real/ or "
            f"Celeb-synthesis/ (Celeb-DF v2) and {csv_file} (csv, set by the csv_file param); set the format param "
            f"to dfdc, faceforensics, celeb-df or csv, or csv_file to your labels file; videos without labels are"
            f" scored, not trained on: the batch-scoring pipeline reads them (format unlabeled)"
        )
    raise ValueError(
        f"the dataset root {root} matches several formats ({', '.join(found)}); set the format param to the one to read"
    )


def read_dataset(dataset_format: DatasetFormat, root: Path, csv_file: str) -> Listing:
    match dataset_format:
        case "dfdc":
            return read_dfdc(root)
        case "faceforensics":
            return read_faceforensics(root)
        case "celeb-df":
            return read_celeb_df(root)
        case "csv":
            return read_csv(root, csv_file)
        case "unlabeled":
            return read_unlabeled(root)


def read_dfdc(root: Path) -> Listing:
    """Every `metadata.json` under the root is one part; a broken one loses that part, not the run. A FAKE entry
    without an original is its own group: nothing links it to another video."""
    listing = Listing()
    for metadata in _find(root, DFDC_METADATA):
        part = metadata.parent.relative_to(root)
        where = metadata.relative_to(root).as_posix()
        try:
            # Pairs, not a dict: a file name listed twice must reach the duplicate check, not silently collapse.
            entries = json.loads(read_text(root, metadata), object_pairs_hook=tuple)
        except (DatasetFileError, json.JSONDecodeError) as exc:
            listing.reject(where, f"cannot read {DFDC_METADATA}: {exc}; its part's videos are skipped")
            continue
        if not isinstance(entries, tuple):
            listing.reject(where, f"{DFDC_METADATA} must hold an object of file name to entry; its videos are skipped")
            continue
        for name, info in entries:
            path = (part / name).as_posix()
            if not isinstance(info, tuple):
                listing.reject(path, f"{where}: the entry must be an object with label, split and original")
                continue
            fields = dict(info)
            try:
                label = _label(fields.get("label"), NAMED_LABELS)
                split = _split(fields.get("split"))
            except ValueError as exc:
                listing.reject(path, f"{where}: {exc}")
                continue
            original = fields.get("original")
            group = None
            if label == 1 and isinstance(original, str) and original.strip():
                group = video_id((part / original.strip()).as_posix())
            listing.videos.append(ListedVideo(path, label, group, split))
    return listing


def _find(root: Path, name: str) -> list[Path]:
    """Every file called `name` under the root; links to folders are not followed (a loop would never end)."""
    return sorted(Path(folder, name) for folder, _, names in os.walk(root) if name in names)


def read_faceforensics(root: Path) -> Listing:
    """Originals are real and their own group (one per original across compressions); manipulations derive from
    the target original. With `splits/*.json` present, each youtube original and its manipulations take its split."""
    listing = Listing()
    splits = _faceforensics_splits(root)
    originals = _faceforensics_videos(root, FF_ORIGINALS)
    # The first compression folder in sorted order names the group, so c23 and c40 copies of 000 stay together.
    canonical: dict[tuple[str, str], str] = {}
    for video in originals:
        relative = video.relative_to(root)
        canonical.setdefault((relative.parts[1], video.stem), video_id(relative.as_posix()))
    for video in originals:
        relative = video.relative_to(root)
        source = relative.parts[1]
        split = splits.get(video.stem) if source == "youtube" else None
        listing.videos.append(ListedVideo(relative.as_posix(), 0, canonical[(source, video.stem)], split))
    for video in _faceforensics_videos(root, FF_MANIPULATED):
        relative = video.relative_to(root)
        method, compression = relative.parts[1], relative.parts[2]
        original = _faceforensics_original(method, video.stem)
        if original is None:
            expected = "<target>_<donor>__<scene>__<tag>" if method == FF_DFD_METHOD else "<target>_<donor>"
            listing.reject(
                relative.as_posix(), f"{method} name is not {expected}.mp4, so the original it derives from is unknown"
            )
            continue
        source, name = original
        fallback = f"{FF_ORIGINALS}/{source}/{compression}/videos/{name}"
        split = splits.get(name) if source == "youtube" else None
        listing.videos.append(ListedVideo(relative.as_posix(), 1, canonical.get(original, fallback), split, method))
    return listing


def _faceforensics_videos(root: Path, top: str) -> list[Path]:
    return sorted(
        video for compression in FF_COMPRESSIONS for video in root.glob(f"{top}/*/{compression}/videos/*.mp4")
    )


def _faceforensics_original(method: str, stem: str) -> tuple[str, str] | None:
    """(original source folder, original name) a manipulation derives from, or None for an unknown name."""
    if method == FF_DFD_METHOD:
        match = FF_DFD_NAME.fullmatch(stem)
        return ("actors", f"{match['target']}__{match['scene']}") if match else None
    match = FF_PAIR_NAME.fullmatch(stem)
    return ("youtube", match["target"]) if match else None


def _faceforensics_splits(root: Path) -> dict[str, Split]:
    """Original number → split from the official `splits/{train,val,test}.json`; none when the folder is absent."""
    splits: dict[str, Split] = {}
    for name in ("train", "val", "test"):
        path = root / FF_SPLITS / f"{name}.json"
        if not os.path.lexists(path):
            continue
        where = path.relative_to(root).as_posix()
        try:
            pairs = json.loads(read_text(root, path))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where} is not valid JSON ({exc}); restore the official file or remove it") from exc
        if not isinstance(pairs, list) or not all(
            isinstance(pair, list) and all(isinstance(number, str) for number in pair) for pair in pairs
        ):
            raise ValueError(f'{where} must be a list of pairs of video numbers like [["071", "054"]]')
        for number in (number for pair in pairs for number in pair):
            if splits.setdefault(number, SPLIT_NAMES[name]) != SPLIT_NAMES[name]:
                raise ValueError(f"{where}: video {number} is also in the {splits[number]} split; fix the split files")
    return splits


def read_celeb_df(root: Path) -> Listing:
    """Folder names match in any case. Listed videos are the test split, the rest train; a listed video that is
    missing, or whose list label contradicts its folder, is rejected rather than trusted."""
    listing = Listing()
    folders = _celeb_folders(root)
    tested = _celeb_test_list(root)
    real_folder = folders[CELEB_REAL].name if CELEB_REAL in folders else CELEB_FOLDER_NAMES[CELEB_REAL]
    seen: set[tuple[str, str]] = set()
    for kind, folder in sorted(folders.items()):
        label: Label = 1 if kind == CELEB_SYNTHESIS else 0
        for video in sorted(folder.glob("*.mp4")):
            relative = video.relative_to(root).as_posix()
            key = (kind, video.name)
            seen.add(key)
            listed_label = tested.get(key)
            if listed_label is not None and listed_label != label:
                listing.reject(
                    relative,
                    f"{CELEB_TEST_LIST} marks it {'REAL' if listed_label == 0 else 'FAKE'} but it is in "
                    f"{folder.name}/; fix the list or move the file",
                )
                continue
            group = None
            if kind == CELEB_SYNTHESIS:
                match = CELEB_SYNTHESIS_NAME.fullmatch(video.stem)
                if not match:
                    listing.reject(
                        relative,
                        "Celeb-synthesis name is not idA_idB_NNNN.mp4, so the original it derives from is unknown",
                    )
                    continue
                group = f"{real_folder}/{match['target']}_{match['clip']}"
            split: Split = "test" if listed_label is not None else "train"
            method = folder.name if kind == CELEB_SYNTHESIS else None
            listing.videos.append(ListedVideo(relative, label, group, split, method))
    for kind, name in sorted(tested.keys() - seen):
        listing.reject(f"{CELEB_FOLDER_NAMES.get(kind, kind)}/{name}", f"missing file: listed in {CELEB_TEST_LIST}")
    return listing


def _celeb_folders(root: Path) -> dict[str, Path]:
    if not root.is_dir():
        return {}
    return {child.name.lower(): child for child in root.iterdir() if child.name.lower() in CELEB_FOLDER_NAMES}


def _celeb_test_list(root: Path) -> dict[tuple[str, str], Label]:
    """(lower-case folder, file name) → label. In this file 1 means REAL and 0 FAKE, the reverse of our labels."""
    path = root / CELEB_TEST_LIST
    if not os.path.lexists(path):
        return {}
    tested: dict[tuple[str, str], Label] = {}
    for number, line in enumerate(read_text(root, path).splitlines(), start=1):
        if not line.strip():
            continue
        flag, _, relative = line.strip().partition(" ")
        folder, _, name = relative.strip().replace("\\", "/").partition("/")
        if flag not in ("0", "1") or not name:
            raise ValueError(
                f"{CELEB_TEST_LIST} line {number}: expected '<1 real|0 fake> <folder>/<file>', got {line.strip()!r};"
                f" restore the official list or remove it"
            )
        tested[(folder.lower(), name)] = 0 if flag == "1" else 1
    return tested


def read_csv(root: Path, csv_file: str) -> Listing:
    """Paths are relative to the dataset root. An unknown column is an error, so a misspelt `split` is not lost."""
    try:
        path = safe_relative_path(root, csv_file)
    except ValueError as exc:
        raise ValueError(f"csv_file: {exc}; point it at a labels file inside the dataset") from exc
    if not os.path.lexists(path):
        raise ValueError(f"no labels file at {csv_file} in the dataset root; set the csv_file param to its path")
    listing = Listing()
    try:
        _read_csv_rows(read_text(root, path), csv_file, listing)
    except csv.Error as exc:
        raise ValueError(f"{csv_file}: not a readable CSV ({exc}); fix the file or its quoting") from exc
    return listing


def _read_csv_rows(text: str, csv_file: str, listing: Listing) -> None:
    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        columns = [name.strip().lower() for name in reader.fieldnames or []]
        unknown = sorted(set(columns) - set(CSV_COLUMNS))
        missing = [name for name in CSV_REQUIRED if name not in columns]
        if unknown or missing:
            raise ValueError(
                f"{csv_file}: header {','.join(columns) or '(empty)'} must be path,label with optional group, "
                f"split and method columns" + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            )
        reader.fieldnames = columns
        for row in reader:
            where = f"{csv_file} line {reader.line_num}"
            relative = (row.get("path") or "").strip()
            if not relative:
                listing.reject(where, "empty path")
                continue
            try:
                label = _label(row.get("label"), CSV_LABELS)
                split = _split(row.get("split"))
            except ValueError as exc:
                listing.reject(relative, f"{where}: {exc}")
                continue
            group = (row.get("group") or "").strip() or None
            method = (row.get("method") or "").strip() or None
            if method is not None and label == 0:
                listing.reject(relative, f"{where}: a REAL video has no manipulation method ({method!r}); clear it")
                continue
            listing.videos.append(ListedVideo(relative, label, group, split, method))


def _label(value: object, accepted: dict[str, Label]) -> Label:
    label = accepted.get(value.strip().lower()) if isinstance(value, str) else None
    if label is None:
        raise ValueError(f"unknown label {value!r}; expected {', '.join(accepted)} (any case)")
    return label


def _split(value: object) -> Split | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    split = SPLIT_NAMES.get(value.strip().lower()) if isinstance(value, str) else None
    if split is None:
        raise ValueError(f"unknown split {value!r}; expected {', '.join(SPLIT_NAMES)} or none")
    return split


def read_unlabeled(root: Path) -> Listing:
    """Every file with a video suffix (any case) under the root, hidden files and folders skipped; links are not
    followed into other folders, and a linked file is checked against the root like any listed path."""
    listing = Listing()
    for folder, folders, names in os.walk(root):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(names):
            if not name.startswith(".") and name.lower().endswith(VIDEO_SUFFIXES):
                relative = (Path(folder) / name).relative_to(root).as_posix()
                listing.videos.append(ListedVideo(relative, None))
    return listing
