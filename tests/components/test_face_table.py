from pathlib import Path

import numpy as np
import pytest

from deepfake.components.face_table import UNLABELED, FaceTable
from deepfake.components.manifests import FaceRecord, LabelledFace, write_jsonl

POINTS = tuple((10.25 + point, 20.5 - point) for point in range(6))


def face(video: str, frame: int, label: int, **fields: object) -> LabelledFace:
    values = {
        "video_id": video,
        "frame_index": frame,
        "image": f"faces/{video}/{frame:05d}_0.jpg",
        "box": (frame, 2, 30, 31),
        "score": 0.123456789,
        "label": label,
        "group": f"g-{video}",
        **fields,
    }
    return LabelledFace.model_validate(values)


ROWS = [
    face("a", 0, 0, keypoints=POINTS, crop_keypoints=POINTS, source_split="train"),
    face("a", 9, 0, track=2, keypoints=POINTS, crop_keypoints=POINTS, source_split="train"),
    face("b/é", 3, 1, method="Deepfakes", perturbation="crf40"),
]


def test_a_split_read_back_row_by_row_is_the_rows_written(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "train.jsonl", ROWS)
    table = FaceTable.read(tmp_path / "train.jsonl")
    assert list(table) == ROWS and table[-1] == ROWS[-1]
    assert table.labels.tolist() == [0, 0, 1] and table.video_ids() == ["a", "a", "b/é"]
    assert list(table[1:]) == ROWS[1:]


def test_take_relabel_and_concat_keep_every_faces_fields() -> None:
    table = FaceTable.from_rows(ROWS, LabelledFace)
    reals = table.take(np.flatnonzero(table.labels == 0))
    blends = reals.relabelled(1, "#x")
    joined = table.concat(blends)
    assert len(joined) == 5 and joined.labels.tolist() == [0, 0, 1, 1, 1]
    assert joined[4] == ROWS[1].model_copy(update={"label": 1, "video_id": "a#x"})
    assert list(joined[:3]) == ROWS and list(reals) == ROWS[:2]


def test_a_row_with_a_partial_keypoint_set_is_refused_naming_it() -> None:
    bad = face("c", 1, 0, crop_keypoints=POINTS[:3])
    with pytest.raises(ValueError, match=r"face faces/c/00001_0.jpg of video 'c' has 3 keypoints"):
        FaceTable.from_rows([bad], LabelledFace)


def test_an_empty_split_is_an_empty_table(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("")
    table = FaceTable.read(tmp_path / "empty.jsonl")
    assert len(table) == 0 and list(table) == [] and table.labels.shape == (0,)


def test_a_face_dataset_of_two_hosts_reads_sorted_and_keeps_missing_labels(tmp_path: Path) -> None:
    unlabeled = FaceRecord.model_validate({**face("c", 4, 0).model_dump(), "label": None})
    write_jsonl(tmp_path / "faces-algo-1.jsonl", [ROWS[2], ROWS[1]])
    write_jsonl(tmp_path / "faces-algo-2.jsonl", [unlabeled, ROWS[0]])
    table = FaceTable.read_dataset(tmp_path)
    assert [row.model_dump() for row in table] == [row.model_dump() for row in [*ROWS, unlabeled]]
    assert isinstance(table[0], FaceRecord) and table[3].label is None
    assert table.labels.tolist() == [0, 0, 1, UNLABELED]
