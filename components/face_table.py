"""A split's faces as columns: what training and evaluation hold, about 200 bytes a face instead of a pydantic
row's ~3 KB, so a DFDC-sized split (millions of faces) fits in memory. A face is rebuilt as a LabelledFace only
when it is looked at (its keypoints to float32 precision: hundred-thousandths of a pixel)."""

from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Generic, TypeVar, cast, overload

import numpy as np

from deepfake.components.manifests import FaceRecord, Label, LabelledFace, Split, face_files, iter_jsonl

POINTS = 6  # BlazeFace's keypoints
UNLABELED = -1  # the label column's value for a video without a label (a FaceDataset to score)
Face = TypeVar("Face", bound=FaceRecord)


class FaceTable(Sequence[Face], Generic[Face]):
    """Per face: its video (a code), label, frame, track, box, score, image path, both keypoint sets and its row (its
    position in what it was read from, kept through `take` and `concat`: the order its crop is stored in a shard, for
    reading shards front to back); per video:
    the fields every face of a video shares (group, source split, method, perturbation). `model` is what a face is
    rebuilt as: LabelledFace for a split, FaceRecord for a FaceDataset, whose videos may carry no label."""

    def __init__(
        self,
        model: type[Face],
        videos: Sequence[tuple[str, str, Split | None, str | None, str | None]],
        columns: dict[str, np.ndarray],
        images: "Images",
    ) -> None:
        self.model = model
        self.videos = list(videos)  # (video_id, group, source_split, method, perturbation)
        self.columns = columns
        self.images = images

    @classmethod
    def from_rows(cls, rows: Iterable[Face], model: type[Face]) -> "FaceTable[Face]":
        codes: dict[tuple[str, str, Split | None, str | None, str | None], int] = {}
        video, label, frame, track = array("i"), array("b"), array("i"), array("i")
        box, score, counts, points = array("i"), array("d"), array("b"), array("f")
        images = Images()
        for row in rows:
            key = (row.video_id, row.group, row.source_split, row.method, row.perturbation)
            video.append(codes.setdefault(key, len(codes)))
            label.append(UNLABELED if row.label is None else row.label)
            frame.append(row.frame_index)
            track.append(row.track)
            box.extend(row.box)
            score.append(row.score)
            images.append(row.image)
            for keypoints in (row.keypoints, row.crop_keypoints):
                if len(keypoints) not in (0, POINTS):
                    raise ValueError(
                        f"face {row.image} of video '{row.video_id}' has {len(keypoints)} keypoints; a FaceDataset"
                        f" row has {POINTS} (BlazeFace's) or none: rebuild it with extract-faces"
                    )
                counts.append(len(keypoints))
                points.extend(coordinate for point in keypoints for coordinate in point)
                points.extend([np.nan] * 2 * (POINTS - len(keypoints)))
        size = len(video)
        columns: dict[str, np.ndarray] = {
            "video": np.frombuffer(video, np.int32),
            "label": np.frombuffer(label, np.int8),
            "frame_index": np.frombuffer(frame, np.int32),
            "track": np.frombuffer(track, np.int32),
            "box": np.frombuffer(box, np.int32).reshape(size, 4),
            "score": np.frombuffer(score, np.float64),
            "points": np.frombuffer(counts, np.int8).reshape(size, 2),
            "keypoints": np.frombuffer(points, np.float32).reshape(size, 2, POINTS, 2),
            "row": np.arange(size, dtype=np.int64),
        }
        return cls(model, sorted(codes, key=codes.__getitem__), columns, images)

    @classmethod
    def read(cls, path: Path) -> "FaceTable[LabelledFace]":
        """A split file, validated row by row as it is read (never held as rows)."""
        return FaceTable.from_rows(iter_jsonl(path, LabelledFace), LabelledFace)

    @classmethod
    def read_dataset(cls, folder: Path) -> "FaceTable[FaceRecord]":
        """Every host's faces of a FaceDataset, sorted by (video, frame, track)."""
        rows = (row for path in face_files(folder) for row in iter_jsonl(path, FaceRecord))
        table = FaceTable.from_rows(rows, FaceRecord)
        names = np.array([video[0] for video in table.videos], dtype=object)
        rank = np.empty(len(names), np.int64)
        rank[np.argsort(names, kind="stable")] = np.arange(len(names))
        videos = rank[table.columns["video"]]
        return table.take(np.lexsort((table.columns["track"], table.columns["frame_index"], videos)))

    def __len__(self) -> int:
        return len(self.columns["video"])

    @overload
    def __getitem__(self, index: int) -> Face: ...

    @overload
    def __getitem__(self, index: slice) -> "FaceTable[Face]": ...

    def __getitem__(self, index: int | slice) -> "Face | FaceTable[Face]":
        if isinstance(index, slice):
            return self.take(range(len(self))[index])
        columns = self.columns
        video_id, group, source_split, method, perturbation = self.videos[int(columns["video"][index])]
        points = columns["points"][index]
        keypoints = columns["keypoints"][index].astype(float)
        left, top, width, height = columns["box"][index].tolist()
        code = int(columns["label"][index])
        label: Label | None = None if code == UNLABELED else 1 if code else 0
        face = self.model.model_construct(
            video_id=video_id,
            frame_index=int(columns["frame_index"][index]),
            image=self.images[index],
            box=(left, top, width, height),
            score=float(columns["score"][index]),
            label=label,
            group=group,
            source_split=source_split,
            method=method,
            perturbation=perturbation,
            track=int(columns["track"][index]),
            keypoints=tuple(tuple(point) for point in keypoints[0][: points[0]].tolist()),
            crop_keypoints=tuple(tuple(point) for point in keypoints[1][: points[1]].tolist()),
        )
        return cast(Face, face)  # mypy types it as the bound, FaceRecord

    def __iter__(self) -> Iterator[Face]:
        return (self[index] for index in range(len(self)))

    @property
    def labels(self) -> np.ndarray:
        return self.columns["label"]

    def video_id(self, index: int) -> str:
        return self.videos[int(self.columns["video"][index])][0]

    def video_ids(self) -> list[str]:
        """Every face's video, in order."""
        names = [video[0] for video in self.videos]
        return [names[code] for code in self.columns["video"].tolist()]

    def take(self, indices: Sequence[int] | np.ndarray) -> "FaceTable[Face]":
        chosen = np.asarray(indices, dtype=np.int64)
        images = Images()
        for index in chosen.tolist():
            images.append(self.images[index])
        columns = {name: column[chosen] for name, column in self.columns.items()}
        return FaceTable(self.model, self.videos, columns, images)

    def holds(self, text: str) -> bool:
        """Whether any image path contains `text`, without decoding the paths."""
        return text.encode() in self.images.buffer

    def relabelled(self, label: Label, suffix: str) -> "FaceTable[Face]":
        """The same faces as other videos: each video's id gains `suffix`, every face gets `label`."""
        videos = [(f"{video_id}{suffix}", *shared) for video_id, *shared in self.videos]
        columns = {**self.columns, "label": np.full(len(self), label, np.int8)}
        return FaceTable(self.model, videos, columns, self.images)  # type: ignore[arg-type]

    def concat(self, other: "FaceTable[Face]") -> "FaceTable[Face]":
        images = Images()
        for table in (self, other):
            for index in range(len(table)):
                images.append(table.images[index])
        columns = {name: np.concatenate([column, other.columns[name]]) for name, column in self.columns.items()}
        columns["video"] = np.concatenate([self.columns["video"], other.columns["video"] + len(self.videos)])
        return FaceTable(self.model, [*self.videos, *other.videos], columns, images)


class Images(Sequence[str]):
    """Image paths in one buffer with their end offsets: a str object each would cost ~100 bytes of overhead."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.ends = array("q")

    def append(self, image: str) -> None:
        self.buffer += image.encode()
        self.ends.append(len(self.buffer))

    def __len__(self) -> int:
        return len(self.ends)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[position] for position in range(len(self))[index]]
        index = range(len(self))[index]
        start = self.ends[index - 1] if index > 0 else 0
        return self.buffer[start : self.ends[index]].decode()


SplitFaces = FaceTable[LabelledFace]
"""A split's faces: every one labelled."""
