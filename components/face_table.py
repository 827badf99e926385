"""A split's faces as columns: what training and evaluation hold, about 200 bytes a face instead of a pydantic
row's ~3 KB, so a DFDC-sized split (millions of faces) fits in memory. A face is rebuilt as a LabelledFace only
when it is looked at (its keypoints to float32 precision: hundred-thousandths of a pixel)."""

from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np

from deepfake.components.manifests import Label, LabelledFace, Split, iter_jsonl

POINTS = 6  # BlazeFace's keypoints


class FaceTable(Sequence[LabelledFace]):
    """Per face: its video (a code), label, frame, track, box, score, image path and both keypoint sets; per video:
    the fields every face of a video shares (group, source split, method, perturbation)."""

    def __init__(
        self,
        videos: Sequence[tuple[str, str, Split | None, str | None, str | None]],
        columns: dict[str, np.ndarray],
        images: "Images",
    ) -> None:
        self.videos = list(videos)  # (video_id, group, source_split, method, perturbation)
        self.columns = columns
        self.images = images

    @classmethod
    def from_rows(cls, rows: Iterable[LabelledFace]) -> "FaceTable":
        codes: dict[tuple[str, str, Split | None, str | None, str | None], int] = {}
        video, label, frame, track = array("i"), array("b"), array("i"), array("i")
        box, score, counts, points = array("i"), array("d"), array("b"), array("f")
        images = Images()
        for row in rows:
            key = (row.video_id, row.group, row.source_split, row.method, row.perturbation)
            video.append(codes.setdefault(key, len(codes)))
            label.append(row.label)
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
        }
        return cls(sorted(codes, key=codes.__getitem__), columns, images)

    @classmethod
    def read(cls, path: Path) -> "FaceTable":
        """A split file, validated row by row as it is read (never held as rows)."""
        return cls.from_rows(iter_jsonl(path, LabelledFace))

    def __len__(self) -> int:
        return len(self.columns["video"])

    @overload
    def __getitem__(self, index: int) -> LabelledFace: ...

    @overload
    def __getitem__(self, index: slice) -> "FaceTable": ...

    def __getitem__(self, index: int | slice) -> "LabelledFace | FaceTable":
        if isinstance(index, slice):
            return self.take(range(len(self))[index])
        columns = self.columns
        video_id, group, source_split, method, perturbation = self.videos[int(columns["video"][index])]
        points = columns["points"][index]
        keypoints = columns["keypoints"][index].astype(float)
        left, top, width, height = columns["box"][index].tolist()
        label: Label = 1 if columns["label"][index] else 0
        return LabelledFace.model_construct(
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

    def __iter__(self) -> Iterator[LabelledFace]:
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

    def take(self, indices: Sequence[int] | np.ndarray) -> "FaceTable":
        chosen = np.asarray(indices, dtype=np.int64)
        images = Images()
        for index in chosen.tolist():
            images.append(self.images[index])
        return FaceTable(self.videos, {name: column[chosen] for name, column in self.columns.items()}, images)

    def relabelled(self, label: Label, suffix: str) -> "FaceTable":
        """The same faces as other videos: each video's id gains `suffix`, every face gets `label`."""
        videos = [(f"{video_id}{suffix}", *shared) for video_id, *shared in self.videos]
        columns = {**self.columns, "label": np.full(len(self), label, np.int8)}
        return FaceTable(videos, columns, self.images)  # type: ignore[arg-type]

    def concat(self, other: "FaceTable") -> "FaceTable":
        images = Images()
        for table in (self, other):
            for index in range(len(table)):
                images.append(table.images[index])
        columns = {name: np.concatenate([column, other.columns[name]]) for name, column in self.columns.items()}
        columns["video"] = np.concatenate([self.columns["video"], other.columns["video"] + len(self.videos)])
        return FaceTable([*self.videos, *other.videos], columns, images)


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
