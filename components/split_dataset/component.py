"""Splits a FaceDataset into train, validation and test by group, stratified by label, honouring official splits.

A group is an original video and every fake made from it; keeping a group in one split stops a model from being
tested on fakes of a real video it saw in training.
"""

import logging
import os
import random
from array import array
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from deepfake.components import Component, ComponentKind, InputSpec, OutputSpec, RunContext
from deepfake.components.manifests import (
    DATASET_SPLITS,
    FACE_DATASET,
    LABEL_NAMES,
    SPLITS,
    AtomicFile,
    FaceRecord,
    Label,
    Split,
    face_files,
    iter_jsonl_lines,
    write_json,
)

log = logging.getLogger(__name__)
RATIO_TOLERANCE = 1e-6
LABELS: tuple[Label, ...] = (0, 1)


class SplitError(ValueError):
    """The faces cannot be split as asked; the message says why and what to change."""


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    train_ratio: float = Field(0.7, gt=0, lt=1, description="Share of each label's videos to put in train.")
    validation_ratio: float = Field(0.15, gt=0, lt=1, description="Share of each label's videos for validation.")
    test_ratio: float = Field(0.15, gt=0, lt=1, description="Share of each label's videos to put in test.")
    seed: int = Field(0, description="Seed of the group shuffle: the same seed and faces give the same splits.")
    use_source_splits: bool = Field(
        True,
        description="Send each group that carries the dataset's official split there; the others follow the ratios.",
    )

    @model_validator(mode="after")
    def _ratios_sum_to_one(self) -> "Params":
        total = self.train_ratio + self.validation_ratio + self.test_ratio
        if abs(total - 1) > RATIO_TOLERANCE:
            raise ValueError(
                f"train_ratio + validation_ratio + test_ratio must sum to 1, got "
                f"{self.train_ratio:g} + {self.validation_ratio:g} + {self.test_ratio:g} = {total:g}: adjust them"
            )
        return self

    @property
    def ratios(self) -> dict[Split, float]:
        return {"train": self.train_ratio, "validation": self.validation_ratio, "test": self.test_ratio}


class Survey:
    """What the split needs to know of every video, gathered row by row: memory grows with videos, not faces."""

    def __init__(self) -> None:
        self.videos: dict[str, tuple[str, Label]] = {}
        self.faces: Counter[str] = Counter()
        self.source_splits: dict[str, set[Split]] = defaultdict(set)
        self.unlabeled: set[str] = set()

    def add(self, row: FaceRecord) -> None:
        if row.label is None:
            self.unlabeled.add(row.video_id)
            return
        known = self.videos.setdefault(row.video_id, (row.group, row.label))
        if known != (row.group, row.label):
            raise SplitError(
                f"video '{row.video_id}' has faces with group/label {known} and {(row.group, row.label)}; every face "
                f"of a video must carry the same group and label: rebuild faces.jsonl"
            )
        self.faces[row.video_id] += 1
        if row.source_split is not None:
            self.source_splits[row.group].add(row.source_split)

    def videos_per_group(self) -> dict[str, Counter[Label]]:
        """Count videos, not faces: the ratios are about videos, and face counts vary with detection."""
        if self.unlabeled:
            raise SplitError(
                f"{len(self.unlabeled)} video(s) carry no label (first: '{min(self.unlabeled)}'), so they cannot be"
                f" split for training and evaluation: ingest a labelled dataset (format dfdc, faceforensics, celeb-df"
                f" or csv), or score unlabeled videos with the batch-scoring pipeline"
            )
        groups: dict[str, Counter[Label]] = defaultdict(Counter)
        for group, label in self.videos.values():
            groups[group][label] += 1
        return groups

    def official_splits(self) -> dict[str, Split]:
        for group, splits in sorted(self.source_splits.items()):
            if len(splits) > 1:
                named = " and ".join(split for split in SPLITS if split in splits)
                raise SplitError(
                    f"group '{group}' has faces with source_split {named}; a group must stay in one split: fix the "
                    f"dataset's split lists, or set use_source_splits=false to split by the ratios"
                )
        return {group: next(iter(splits)) for group, splits in self.source_splits.items()}


@dataclass(frozen=True)
class SplitPlan:
    """Where each group goes; `official` counts the groups placed by their source split rather than by the ratios."""

    groups: Mapping[str, Split]
    official: int

    @property
    def ratios_used(self) -> bool:
        return self.official < len(self.groups)


def plan_splits(found: Survey, params: Params) -> SplitPlan:
    """Assign every group to a split; a pure function of the rows as a set, so input order never matters.

    Official splits: when the dataset provides both validation and test, every source split is honoured. When it
    provides only some held-out set (Celeb-DF's test list) or none (DFDC labels everything "train"), its held-out
    groups stay where they are and the other groups fill train and the missing splits by the ratios.

    Official groups are placed first and count towards the ratios. The others are shuffled with the seed (after
    sorting, for determinism), then taken largest first so small groups even out the remainder, each going to the
    split where it most lowers the chi-square gap between the per-label video counts and the ratios' targets. The
    last groups go to still-empty splits, so every split gets one whenever enough groups are free.
    """
    videos = found.videos_per_group()
    if len(videos) < len(SPLITS):
        raise SplitError(
            f"faces.jsonl holds {len(videos)} group(s) ({sum(map(_size, videos.values()))} videos, "
            f"{sum(found.faces.values())} faces), but train, validation and test each need a group of their own: add"
            f" videos derived from at least {len(SPLITS)} different originals"
        )
    official = found.official_splits() if params.use_source_splits else {}
    held_out = {split for split in official.values() if split != "train"}
    if held_out != {"validation", "test"}:
        official = {group: split for group, split in official.items() if split != "train"}
    open_splits = [split for split in SPLITS if split == "train" or split not in held_out]
    ratios = params.ratios
    totals = {label: sum(counts[label] for counts in videos.values()) for label in LABELS}
    placed: dict[Split, Counter[Label]] = {split: Counter() for split in SPLITS}
    sizes: Counter[Split] = Counter(official.values())
    for group, split in official.items():
        placed[split].update(videos[group])
    free = sorted(set(videos) - set(official))
    random.Random(params.seed).shuffle(free)
    free.sort(key=lambda group: -_size(videos[group]))
    assignment = dict(official)
    for position, group in enumerate(free):
        empty = [split for split in SPLITS if sizes[split] == 0]
        candidates = empty if len(free) - position <= len(empty) else open_splits
        split = max(candidates, key=lambda option: _gain(videos[group], placed[option], ratios[option], totals))
        assignment[group] = split
        placed[split].update(videos[group])
        sizes[split] += 1
    empty = [split for split in SPLITS if sizes[split] == 0]
    if empty:
        per_split = ", ".join(f"{split} {sizes[split]}" for split in SPLITS)
        raise SplitError(
            f"split {' and '.join(empty)} would be empty: of {len(videos)} groups, {len(official)} follow their "
            f"official source_split and {len(free)} the ratios (groups per split: {per_split}); add videos, or set "
            f"use_source_splits=false to split every group by the ratios"
        )
    return SplitPlan(groups=assignment, official=len(official))


def describe_splits(found: Survey, plan: SplitPlan, params: Params) -> dict[str, Any]:
    """The counts.json document: what a reviewer checks before trusting a metric computed on these splits."""
    faces: dict[Split, Counter[Label]] = {split: Counter() for split in SPLITS}
    videos: dict[Split, Counter[Label]] = {split: Counter() for split in SPLITS}
    for video, (group, label) in found.videos.items():
        split = plan.groups[group]
        faces[split][label] += found.faces[video]
        videos[split][label] += 1
    groups = Counter(plan.groups.values())
    return {
        "params": params.model_dump(mode="json"),
        "source_splits_honoured": plan.official > 0,
        "groups_from_source_splits": plan.official,
        "ratios_used": plan.ratios_used,
        "splits": {
            split: {
                "faces": _size(faces[split]),
                "videos": _size(videos[split]),
                "groups": groups[split],
                "labels": {
                    LABEL_NAMES[label]: {"faces": faces[split][label], "videos": videos[split][label]}
                    for label in LABELS
                },
            }
            for split in SPLITS
        },
    }


class FaceLines:
    """Where each row of the FaceDataset's files is, with its sort key: the second pass copies validated lines
    to their split in (video, frame, track) order without parsing or holding them."""

    def __init__(self, files: Sequence[Path]) -> None:
        self.files = list(files)
        self.file, self.offset, self.length = array("H"), array("Q"), array("I")
        self.video, self.frame, self.track = array("I"), array("I"), array("I")
        self.video_codes: dict[str, int] = {}

    def add(self, file: int, offset: int, length: int, row: FaceRecord) -> None:
        self.file.append(file)
        self.offset.append(offset)
        self.length.append(length)
        self.video.append(self.video_codes.setdefault(row.video_id, len(self.video_codes)))
        self.frame.append(row.frame_index)
        self.track.append(row.track)

    def in_order(self) -> np.ndarray:
        names = sorted(self.video_codes, key=self.video_codes.__getitem__)
        rank = np.empty(len(names), np.int64)
        rank[np.argsort(np.array(names, dtype=object), kind="stable")] = np.arange(len(names))
        videos = rank[np.frombuffer(self.video, np.uint32)] if names else np.empty(0, np.int64)
        return np.lexsort((np.frombuffer(self.track, np.uint32), np.frombuffer(self.frame, np.uint32), videos))


def scan(files: Sequence[Path]) -> tuple[Survey, FaceLines]:
    """The first pass: every row validated and surveyed, its place remembered."""
    found, lines = Survey(), FaceLines(files)
    for number, path in enumerate(files):
        for offset, length, row in iter_jsonl_lines(path, FaceRecord):
            found.add(row)
            if row.label is not None:
                lines.add(number, offset, length, row)
    return found, lines


def write_splits(lines: FaceLines, found: Survey, plan: SplitPlan, output: Path) -> None:
    """The second pass: each face's line, as it was, into its group's split, sorted by (video, frame, track). Lines are
    read back one at a time (pread), not mapped: the process's memory stays that of its index."""
    names = sorted(lines.video_codes, key=lines.video_codes.__getitem__)
    split_of = [SPLITS.index(plan.groups[found.videos[name][0]]) for name in names]
    with ExitStack() as stack:
        writers = [stack.enter_context(AtomicFile(output / f"{split}.jsonl")) for split in SPLITS]
        files = [stack.enter_context(path.open("rb")).fileno() for path in lines.files]
        file, offset, length, video = lines.file, lines.offset, lines.length, lines.video
        for position in lines.in_order().tolist():
            line = os.pread(files[file[position]], length[position], offset[position])
            writers[split_of[video[position]]].write(line + b"\n")


def run(params: Params, ctx: RunContext) -> None:
    found, lines = scan(face_files(ctx.inputs["faces"]))
    plan = plan_splits(found, params)
    output = ctx.outputs["splits"]
    write_splits(lines, found, plan, output)
    counts = describe_splits(found, plan, params)
    write_json(output / "counts.json", counts)
    for split, summary in counts["splits"].items():
        log.info("%s: %d faces, %d videos, %d groups", split, summary["faces"], summary["videos"], summary["groups"])


def _size(counts: Counter[Label]) -> int:
    return sum(counts.values())


def _gain(group: Counter[Label], placed: Counter[Label], ratio: float, totals: Mapping[Label, int]) -> float:
    """The drop in sum((placed - target)² / target) over labels, each label scaled by its total so both weigh alike.

    Dividing by the target (not its square, not 1) fills every split in proportion: plain squared error sends the
    big groups to train, squared relative error to the small splits.
    """
    gain = 0.0
    for label, total in totals.items():
        if total:
            deficit = ratio * total - placed[label]
            gain += group[label] * (2 * deficit - group[label]) / (ratio * total**2)
    return gain


COMPONENT = Component(
    name="split-dataset",
    version="1.1.0",
    kind=ComponentKind.PROCESSING,
    image="deepfake/split-dataset",
    description=__doc__.splitlines()[0],
    params=Params,
    run=run,
    entry_module="deepfake.components.split_dataset",
    inputs={"faces": InputSpec(type=FACE_DATASET, description="faces.jsonl; its crops stay where they are.")},
    outputs={
        "splits": OutputSpec(
            type=DATASET_SPLITS,
            description="train/validation/test.jsonl (FaceRecords, images relative to the FaceDataset) and counts.json",
        )
    },
)
