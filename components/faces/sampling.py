"""Sampled decoding with decord: probe a video, then read N evenly spaced frames in one batched call."""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from decord import VideoReader, cpu

DECORD_PREFIX = re.compile(r"^(\[[\d:]+\] )?\S+\.(cc|h|cpp):\d+: ")


class VideoReadError(ValueError):
    """The video cannot be used; the message is the rejection reason."""


@dataclass(frozen=True)
class VideoProbe:
    frames: int
    fps: float
    width: int
    height: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps if self.fps else 0.0


def open_video(path: Path, threads: int = 1) -> VideoReader:
    if not path.is_file():
        raise VideoReadError(f"missing file {path.name}")
    if path.stat().st_size == 0:
        raise VideoReadError("empty file")
    try:
        return VideoReader(str(path), ctx=cpu(0), num_threads=threads)
    except Exception as exc:  # decord raises its own DECORDError (and RuntimeError) for undecodable input
        reason = _first_line(exc).replace(str(path), path.name)
        raise VideoReadError(f"unreadable video: {reason}") from exc


def probe(reader: VideoReader) -> VideoProbe:
    frames = len(reader)
    if frames == 0:
        raise VideoReadError("zero frames")
    try:
        height, width = reader[0].shape[:2]
    except Exception as exc:
        raise VideoReadError(f"first frame does not decode: {_first_line(exc)}") from exc
    return VideoProbe(frames=frames, fps=float(reader.get_avg_fps()), width=int(width), height=int(height))


def check_frame_size(info: VideoProbe, max_pixels: int) -> None:
    """ingest-videos and extract-faces refuse the same frames, with the same reason."""
    if info.width * info.height > max_pixels:
        raise VideoReadError(
            f"resolution {info.width}x{info.height} is over the limit of {max_pixels} pixels (param max_frame_pixels)"
        )


def evenly_spaced(total: int, count: int) -> list[int]:
    """`count` frame indices spread over the video, each at the centre of its segment (all frames if fewer)."""
    if total <= count:
        return list(range(total))
    return [int((position + 0.5) * total / count) for position in range(count)]


def read_frames(reader: VideoReader, indices: list[int]) -> np.ndarray:
    """One batched read: decord seeks to the nearest keyframes and decodes only what it must."""
    try:
        return reader.get_batch(indices).asnumpy()
    except Exception as exc:
        raise VideoReadError(f"truncated or corrupt stream: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    """decord prefixes its messages with a time and its own source file ("[12:00:00] /github/.../x.cc:83: ");
    a reason shows only the message."""
    text = str(exc).strip().splitlines()
    return DECORD_PREFIX.sub("", text[0])[:200] if text else type(exc).__name__
