"""Splits a FaceDataset into train, validation and test by group, stratified by label, honouring official splits.

A group is an original video and every fake made from it; keeping a group in one split stops a model from being
tested on fakes of a real video it saw in training.
"""

import logging
import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from deepfake.components import Component, ComponentKind, InputSpec, OutputSpec, RunContext
from deepfake.components.manifests import (
    DATASET_SPLITS,
    FACE_DATASET,
    LABEL_NAMES,
    SPLITS,
    FaceRecord,
    Label,
    Split,
    read_faces,
    write_json,
    write_jsonl,
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


@dataclass(frozen=True)
class SplitPlan:
    """Where each group goes; `official` counts the groups placed by their source split rather than by the ratios."""

    groups: Mapping[str, Split]
    official: int

    @property
    def ratios_used(self) -> bool:
        return self.official < len(self.groups)


def plan_splits(rows: Sequence[FaceRecord], params: Params) -> SplitPlan:
    """Assign every group to a split; a pure function of the rows as a set, so input order never matters.

    Official splits: when the dataset provides both validation and test, every source split is honoured. When it
    provides only some held-out set (Celeb-DF's test list) or none (DFDC labels everything "train"), its held-out
    groups stay where they are and the other groups fill train and the missing splits by the ratios.

    Official groups are placed first and count towards the ratios. The others are shuffled with the seed (after
    sorting, for determinism), then taken largest first so small groups even out the remainder, each going to the
    split where it most lowers the chi-square gap between the per-label video counts and the ratios' targets. The
    last groups go to still-empty splits, so every split gets one whenever enough groups are free.
    """
    videos = _videos_per_group(rows)
    if len(videos) < len(SPLITS):
        raise SplitError(
            f"faces.jsonl holds {len(videos)} group(s) ({sum(map(_size, videos.values()))} videos, {len(rows)} "
            f"faces), but train, validation and test each need a group of their own: add videos derived from at "
            f"least {len(SPLITS)} different originals"
        )
    official = _official_splits(rows) if params.use_source_splits else {}
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


def split_rows(rows: Sequence[FaceRecord], plan: SplitPlan) -> dict[Split, list[FaceRecord]]:
    splits: dict[Split, list[FaceRecord]] = {split: [] for split in SPLITS}
    for row in rows:
        splits[plan.groups[row.group]].append(row)
    return splits


def describe_splits(splits: Mapping[Split, Sequence[FaceRecord]], plan: SplitPlan, params: Params) -> dict[str, Any]:
    """The counts.json document: what a reviewer checks before trusting a metric computed on these splits."""
    return {
        "params": params.model_dump(mode="json"),
        "source_splits_honoured": plan.official > 0,
        "groups_from_source_splits": plan.official,
        "ratios_used": plan.ratios_used,
        "splits": {split: _describe(rows) for split, rows in splits.items()},
    }


def run(params: Params, ctx: RunContext) -> None:
    rows = read_faces(ctx.inputs["faces"])
    plan = plan_splits(rows, params)
    splits = split_rows(rows, plan)
    output = ctx.outputs["splits"]
    for split, members in splits.items():
        write_jsonl(output / f"{split}.jsonl", members)
    counts = describe_splits(splits, plan, params)
    write_json(output / "counts.json", counts)
    for split, summary in counts["splits"].items():
        log.info("%s: %d faces, %d videos, %d groups", split, summary["faces"], summary["videos"], summary["groups"])


def _videos_per_group(rows: Sequence[FaceRecord]) -> dict[str, Counter[Label]]:
    """Count videos, not faces: the ratios are about videos, and face counts vary with detection."""
    unlabeled = sorted({row.video_id for row in rows if row.label is None})
    if unlabeled:
        raise SplitError(
            f"{len(unlabeled)} video(s) carry no label (first: '{unlabeled[0]}'), so they cannot be split for"
            f" training and evaluation: ingest a labelled dataset (format dfdc, faceforensics, celeb-df or csv), or"
            f" score unlabeled videos with the batch-scoring pipeline"
        )
    seen: dict[str, tuple[str, Label]] = {}
    for row in rows:
        assert row.label is not None  # unlabeled rows were refused above
        known = seen.setdefault(row.video_id, (row.group, row.label))
        if known != (row.group, row.label):
            raise SplitError(
                f"video '{row.video_id}' has faces with group/label {known} and {(row.group, row.label)}; every face "
                f"of a video must carry the same group and label: rebuild faces.jsonl"
            )
    groups: dict[str, Counter[Label]] = defaultdict(Counter)
    for group, label in seen.values():
        groups[group][label] += 1
    return groups


def _official_splits(rows: Sequence[FaceRecord]) -> dict[str, Split]:
    found: dict[str, set[Split]] = defaultdict(set)
    for row in rows:
        if row.source_split is not None:
            found[row.group].add(row.source_split)
    for group, splits in sorted(found.items()):
        if len(splits) > 1:
            named = " and ".join(split for split in SPLITS if split in splits)
            raise SplitError(
                f"group '{group}' has faces with source_split {named}; a group must stay in one split: fix the "
                f"dataset's split lists, or set use_source_splits=false to split by the ratios"
            )
    return {group: next(iter(splits)) for group, splits in found.items()}


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


def _describe(rows: Sequence[FaceRecord]) -> dict[str, Any]:
    video_labels = Counter({row.video_id: row.label for row in rows}.values())
    face_labels = Counter(row.label for row in rows)
    return {
        "faces": len(rows),
        "videos": sum(video_labels.values()),
        "groups": len({row.group for row in rows}),
        "labels": {
            LABEL_NAMES[label]: {"faces": face_labels[label], "videos": video_labels[label]} for label in LABELS
        },
    }


COMPONENT = Component(
    name="split-dataset",
    version="1.0.1",
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
