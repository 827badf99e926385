import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from deepfake.components.manifests import SPLITS, FaceRecord, Split, read_jsonl, write_jsonl
from deepfake.components.runtime import main
from deepfake.components.split_dataset.component import COMPONENT, Params, SplitError, SplitPlan, Survey
from deepfake.components.split_dataset.component import plan_splits as plan_survey
from tests.support.faces import face_row

PROPERTY_SETTINGS = settings(max_examples=60, deadline=None)


def face(video: str, label: int, group: str, frame: int = 0, source_split: Split | None = None) -> FaceRecord:
    return face_row(video, frame, label, group, source_split)


def group_rows(
    group: str, reals: int, fakes: int, faces: int = 2, source_split: Split | None = None
) -> list[FaceRecord]:
    videos = [(f"{group}-real{index}", 0) for index in range(reals)] + [
        (f"{group}-fake{index}", 1) for index in range(fakes)
    ]
    return [face(video, label, group, frame, source_split) for video, label in videos for frame in range(faces)]


@st.composite
def datasets(draw: st.DrawFn, official: bool = False) -> list[FaceRecord]:
    """Groups of real and fake videos with a few faces each; `official` adds source splits to some of them."""
    rows = []
    for number in range(draw(st.integers(3, 16))):
        group = f"group-{number}"
        reals = draw(st.integers(0, 2))
        fakes = draw(st.integers(0 if reals else 1, 4))
        split = draw(st.sampled_from([None, *SPLITS])) if official else None
        for index in range(reals + fakes):
            label = 0 if index < reals else 1
            carries = split if draw(st.booleans()) else None
            for frame in range(draw(st.integers(1, 3))):
                rows.append(face(f"{group}-video{index}", label, group, frame, carries))
    return rows


def plan_splits(rows: list[FaceRecord], params: Params) -> SplitPlan:
    """The component's planning on rows surveyed in memory (it surveys them as it reads them)."""
    found = Survey()
    for row in rows:
        found.add(row)
    return plan_survey(found, params)


def split_rows(rows: list[FaceRecord], plan: SplitPlan) -> dict[Split, list[FaceRecord]]:
    return {split: [row for row in rows if plan.groups[row.group] == split] for split in SPLITS}


def official_of(rows: list[FaceRecord]) -> dict[str, Split]:
    return {row.group: row.source_split for row in rows if row.source_split is not None}


def outcome(rows: list[FaceRecord], params: Params) -> dict[str, Split] | str:
    try:
        return dict(plan_splits(rows, params).groups)
    except SplitError as exc:
        return str(exc)


@PROPERTY_SETTINGS
@given(rows=datasets(), seed=st.integers(0, 2**32))
def test_no_group_lands_in_two_splits(rows: list[FaceRecord], seed: int) -> None:
    splits = split_rows(rows, plan_splits(rows, Params(seed=seed)))
    groups = {split: {row.group for row in members} for split, members in splits.items()}
    assert not groups["train"] & groups["validation"]
    assert not groups["train"] & groups["test"]
    assert not groups["validation"] & groups["test"]
    assert set().union(*groups.values()) == {row.group for row in rows}


@PROPERTY_SETTINGS
@given(rows=datasets(), seed=st.integers(0, 2**32))
def test_every_row_lands_in_exactly_one_non_empty_split(rows: list[FaceRecord], seed: int) -> None:
    splits = split_rows(rows, plan_splits(rows, Params(seed=seed)))
    assert all(splits[split] for split in SPLITS)
    assert Counter(row for members in splits.values() for row in members) == Counter(rows)


@PROPERTY_SETTINGS
@given(
    rows=datasets(official=True),
    seed=st.integers(0, 2**32),
    use_source_splits=st.booleans(),
    shuffler=st.randoms(use_true_random=False),
)
def test_the_assignment_depends_on_the_seed_and_rows_never_their_order(
    rows: list[FaceRecord], seed: int, use_source_splits: bool, shuffler: random.Random
) -> None:
    params = Params(seed=seed, use_source_splits=use_source_splits)
    shuffled = list(rows)
    shuffler.shuffle(shuffled)
    assert outcome(shuffled, params) == outcome(rows, params)


@PROPERTY_SETTINGS
@given(rows=datasets(official=True), seed=st.integers(0, 2**32))
def test_official_splits_are_honoured_and_only_an_uncoverable_split_fails(rows: list[FaceRecord], seed: int) -> None:
    official = official_of(rows)
    if not {"validation", "test"} <= set(official.values()):
        official = {group: split for group, split in official.items() if split != "train"}
    free = {row.group for row in rows} - set(official)
    uncovered = set(SPLITS) - set(official.values())
    if len(free) < len(uncovered):
        with pytest.raises(SplitError, match="would be empty"):
            plan_splits(rows, Params(seed=seed))
        return
    plan = plan_splits(rows, Params(seed=seed))
    assert {group: plan.groups[group] for group in official} == official
    assert set(plan.groups.values()) == set(SPLITS)
    assert plan.official == len(official)


@pytest.mark.parametrize(("ratios", "seed"), [((0.7, 0.15, 0.15), 0), ((0.7, 0.15, 0.15), 7), ((0.6, 0.25, 0.15), 3)])
def test_ratios_are_met_per_label_on_a_few_hundred_groups(ratios: tuple[float, float, float], seed: int) -> None:
    generator = random.Random(seed)
    rows = [
        row
        for number in range(300)
        for row in group_rows(f"g{number}", generator.choice([0, 1, 1, 2]), generator.randint(0, 6), faces=1)
    ]
    params = Params(train_ratio=ratios[0], validation_ratio=ratios[1], test_ratio=ratios[2], seed=seed)
    splits = split_rows(rows, plan_splits(rows, params))
    for label in (0, 1):
        total = len({row.video_id for row in rows if row.label == label})
        for split, ratio in zip(SPLITS, ratios, strict=True):
            share = len({row.video_id for row in splits[split] if row.label == label}) / total
            assert share == pytest.approx(ratio, abs=0.02), (split, label, share)


def test_another_seed_gives_another_assignment() -> None:
    rows = [row for number in range(60) for row in group_rows(f"g{number}", 1, number % 3, faces=1)]
    assert plan_splits(rows, Params(seed=1)).groups != plan_splits(rows, Params(seed=2)).groups


def test_ratios_that_do_not_sum_to_one_are_refused_naming_all_three() -> None:
    with pytest.raises(ValidationError) as raised:
        Params(train_ratio=0.8)
    message = str(raised.value)
    assert "train_ratio + validation_ratio + test_ratio must sum to 1" in message
    assert "0.8 + 0.15 + 0.15 = 1.1" in message


@pytest.mark.parametrize("value", [0.0, 1.0, -0.1])
def test_a_ratio_outside_zero_to_one_is_refused(value: float) -> None:
    with pytest.raises(ValidationError, match="validation_ratio"):
        Params(validation_ratio=value)


@pytest.mark.parametrize("groups", [0, 1, 2])
def test_fewer_than_three_groups_fail_with_the_counts_and_the_fix(groups: int) -> None:
    rows = [row for number in range(groups) for row in group_rows(f"g{number}", 1, 2)]
    with pytest.raises(SplitError) as raised:
        plan_splits(rows, Params())
    message = str(raised.value)
    assert f"holds {groups} group(s) ({3 * groups} videos, {6 * groups} faces)" in message
    assert "add videos derived from at least 3 different originals" in message


def test_three_groups_give_one_to_each_split_whatever_the_ratios() -> None:
    rows = [row for number in range(3) for row in group_rows(f"g{number}", 1, 1)]
    plan = plan_splits(rows, Params(train_ratio=0.9, validation_ratio=0.05, test_ratio=0.05))
    assert sorted(plan.groups.values()) == sorted(SPLITS)


def test_a_group_whose_rows_disagree_on_the_source_split_fails_naming_both() -> None:
    rows = [
        *group_rows("g0", 1, 1),
        *group_rows("g1", 1, 0, source_split="test"),
        *group_rows("g1", 0, 1, source_split="train"),
        *group_rows("g2", 1, 1),
    ]
    with pytest.raises(SplitError, match="group 'g1' has faces with source_split train and test"):
        plan_splits(rows, Params())
    assert plan_splits(rows, Params(use_source_splits=False)).official == 0


def test_an_official_test_list_alone_is_kept_and_validation_is_carved_from_train() -> None:
    rows = [*group_rows("a", 1, 1, source_split="train"), *group_rows("b", 1, 1, source_split="test")]
    rows += group_rows("c", 1, 1, source_split="train")
    plan = plan_splits(rows, Params())
    assert plan.groups["b"] == "test" and {plan.groups["a"], plan.groups["c"]} == {"train", "validation"}
    assert plan.official == 1


def test_a_dataset_that_labels_everything_train_is_split_by_the_ratios() -> None:
    rows = [row for number in range(40) for row in group_rows(f"g{number}", 1, 2, faces=1, source_split="train")]
    plan = plan_splits(rows, Params())
    assert plan.official == 0 and plan.ratios_used
    assert sorted(Counter(plan.groups.values()).values()) == [6, 6, 28]


def test_official_validation_and_test_lists_send_unlabelled_groups_to_train() -> None:
    rows = [*group_rows("a", 1, 1, source_split="validation"), *group_rows("b", 1, 1, source_split="test")]
    rows += group_rows("c", 1, 1)
    assert plan_splits(rows, Params()).groups == {"a": "validation", "b": "test", "c": "train"}


def test_every_row_official_means_the_ratios_are_not_used() -> None:
    official: dict[str, Split] = {"a": "train", "b": "validation", "c": "test", "d": "test", "e": "test"}
    rows = [row for group, split in official.items() for row in group_rows(group, 1, 3, source_split=split)]
    plan = plan_splits(rows, Params(train_ratio=0.8, validation_ratio=0.1, test_ratio=0.1))
    assert plan.groups == official and not plan.ratios_used


def test_a_video_with_two_labels_is_refused() -> None:
    rows = [*group_rows("a", 1, 0), face("a-real0", 1, "a", frame=5), *group_rows("b", 1, 0), *group_rows("c", 1, 0)]
    with pytest.raises(SplitError, match="video 'a-real0' has faces with group/label"):
        plan_splits(rows, Params())


def test_unlabeled_videos_are_refused_pointing_at_a_labelled_dataset() -> None:
    rows = [*group_rows("a", 1, 1), *group_rows("b", 1, 0), *group_rows("c", 1, 0)]
    rows += [face("b-real0", 0, "b").model_copy(update={"label": None, "video_id": "z-unlabeled"})]
    with pytest.raises(SplitError, match=r"1 video\(s\) carry no label \(first: 'z-unlabeled'\).*ingest a labelled"):
        plan_splits(rows, Params())


@pytest.fixture
def base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    return tmp_path


def write_face_dataset(folder: Path, rows: list[FaceRecord]) -> None:
    folder.mkdir(parents=True)
    write_jsonl(folder / "faces.jsonl", rows)
    (folder / "rejected.jsonl").write_text("")


def test_the_component_writes_the_splits_and_their_counts(base: Path) -> None:
    rows = [
        *group_rows("a", 1, 2, faces=3, source_split="train"),
        *group_rows("b", 1, 0, faces=2, source_split="train"),
        *group_rows("c", 1, 1, faces=1, source_split="validation"),
        *group_rows("d", 2, 3, faces=2, source_split="test"),
    ]
    write_face_dataset(base / "processing/input/faces", rows)
    assert main(COMPONENT, ["--seed", "5"]) == 0
    output = base / "processing/output/splits"
    assert sorted(path.name for path in output.iterdir()) == [
        "counts.json",
        "test.jsonl",
        "train.jsonl",
        "validation.jsonl",
    ]
    in_order = sorted(rows, key=lambda row: (row.video_id, row.frame_index))
    assert read_jsonl(output / "train.jsonl", FaceRecord) == [row for row in in_order if row.group in {"a", "b"}]
    assert read_jsonl(output / "test.jsonl", FaceRecord)[0].image == "faces/d-fake0/00000.jpg"
    counts = json.loads((output / "counts.json").read_text())
    assert counts == {
        "params": {
            "train_ratio": 0.7,
            "validation_ratio": 0.15,
            "test_ratio": 0.15,
            "seed": 5,
            "use_source_splits": True,
        },
        "source_splits_honoured": True,
        "groups_from_source_splits": 4,
        "ratios_used": False,
        "splits": {
            "train": {
                "faces": 11,
                "videos": 4,
                "groups": 2,
                "labels": {"REAL": {"faces": 5, "videos": 2}, "FAKE": {"faces": 6, "videos": 2}},
            },
            "validation": {
                "faces": 2,
                "videos": 2,
                "groups": 1,
                "labels": {"REAL": {"faces": 1, "videos": 1}, "FAKE": {"faces": 1, "videos": 1}},
            },
            "test": {
                "faces": 10,
                "videos": 5,
                "groups": 1,
                "labels": {"REAL": {"faces": 4, "videos": 2}, "FAKE": {"faces": 6, "videos": 3}},
            },
        },
    }


def test_the_component_reports_a_split_failure_and_bad_ratios(base: Path) -> None:
    write_face_dataset(base / "processing/input/faces", group_rows("a", 1, 1) + group_rows("b", 1, 1))
    assert main(COMPONENT, []) == 1
    assert (base / "output/message").read_text().startswith("SplitError: faces.jsonl holds 2 group(s)")
    assert main(COMPONENT, ["--train-ratio", "0.5"]) == 2
    assert "must sum to 1, got 0.5 + 0.15 + 0.15 = 0.8" in (base / "output/message").read_text()


def test_the_entry_runs_as_a_module_in_a_real_process(tmp_path: Path) -> None:
    rows = [row for number in range(12) for row in group_rows(f"g{number}", 1, number % 4)]
    write_face_dataset(tmp_path / "processing/input/faces", rows)
    completed = subprocess.run(
        [sys.executable, "-m", "deepfake.components.split_dataset", "--use-source-splits", "false", "--seed", "3"],
        env={"SAGEMAKER_BASE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    counts = json.loads((tmp_path / "processing/output/splits/counts.json").read_text())
    assert sum(counts["splits"][split]["groups"] for split in SPLITS) == 12
    assert counts["params"]["seed"] == 3 and not counts["source_splits_honoured"]


def test_host_files_stream_into_splits_sorted_as_one_file_would_be(base: Path) -> None:
    rows = [row for number in range(12) for row in group_rows(f"g{number}", 1, number % 3, faces=3)]
    folder = base / "processing/input/faces"
    folder.mkdir(parents=True)
    shuffled = random.Random(0).sample(rows, len(rows))
    write_jsonl(folder / "faces-algo-1.jsonl", shuffled[::2])
    (folder / "faces-algo-2.jsonl").write_text("\n".join(row.model_dump_json() for row in shuffled[1::2]) + "\n\n")
    (folder / "rejected-algo-1.jsonl").write_text("")
    assert main(COMPONENT, ["--seed", "4"]) == 0
    output = base / "processing/output/splits"
    written = {split: read_jsonl(output / f"{split}.jsonl", FaceRecord) for split in SPLITS}
    in_order = sorted(rows, key=lambda row: (row.video_id, row.frame_index))
    assert written == split_rows(in_order, plan_splits(rows, Params(seed=4)))


def test_a_bad_line_names_its_file_and_line_and_writes_no_split(base: Path) -> None:
    rows = [row for number in range(4) for row in group_rows(f"g{number}", 1, 1)]
    folder = base / "processing/input/faces"
    write_face_dataset(folder, rows)
    with (folder / "faces.jsonl").open("a") as handle:
        handle.write('{"video_id": "x", "frame_index": -1}\n')
    assert main(COMPONENT, []) == 1
    message = (base / "output/message").read_text()
    assert f"faces.jsonl line {len(rows) + 1}: field 'frame_index'" in message
    assert not list((base / "processing/output/splits").glob("*.jsonl"))
