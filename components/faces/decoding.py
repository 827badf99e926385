"""Sampled decoding that decodes less than every frame: PyAV with FFmpeg's skip_frame.

Sampled frames sit closer together than a keyframe interval, so any decoder must decode every reference frame between
them; what it can skip is the frames nothing depends on (non-reference B-frames: about half of an x264 stream with
its default B-frames). A sample that falls on a skipped frame moves to the nearest decoded one, and the index
returned is the one decoded. Only the returned frames are converted to RGB. A sample further ahead than a keyframe
interval is reached by seeking, so a long video is not decoded end to end for a few frames.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import av
import numpy as np

from deepfake.components.faces.sampling import VideoReadError

SKIP_MIN_SPACING = 4
"""Samples at least this many frames apart may move to a neighbour: x264's reference frames are at most 2 apart at
its defaults (3 B-frames, b-pyramid), so two samples never land on one frame. Denser samples decode every frame."""
SEEK_AHEAD = 250
"""Seek (to the keyframe before the next sample) when it is more than this many frames ahead: x264's default
keyframe interval, so within a GOP, decoding on is never slower than seeking back to its keyframe."""


@dataclass(frozen=True)
class SampledFrames:
    indices: list[int]  # the frames decoded, ascending and distinct: each the nearest decodable one to its sample
    pixels: np.ndarray  # (frames, height, width, 3) RGB uint8


def iter_sampled(path: Path, indices: Sequence[int], threads: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    """(frame decoded, RGB pixels) for ascending frame `indices` (from `evenly_spaced`), each as soon as it is
    decoded: a caller that works frame by frame holds one frame, not the video's samples. Raises VideoReadError
    (also part-way, for a stream that breaks off)."""
    if not indices:
        raise ValueError("no frame indices to read")
    found = False
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type, stream.thread_count = "SLICE", threads
            spacing = min((b - a for a, b in pairwise(indices)), default=SEEK_AHEAD)
            if spacing >= SKIP_MIN_SPACING:
                stream.codec_context.skip_frame = "NONREF"
            for index, frame in _nearest_frames(container, stream, list(indices)):
                found = True
                yield index, frame.reformat(format="rgb24").to_ndarray()
    except (av.FFmpegError, IndexError) as exc:
        raise VideoReadError(f"truncated or corrupt stream: {exc}") from exc
    if not found:
        raise VideoReadError("no frame decodes")


def read_sampled(path: Path, indices: Sequence[int], threads: int = 1) -> SampledFrames:
    """All of `iter_sampled` at once."""
    decoded = list(iter_sampled(path, indices, threads))
    return SampledFrames([index for index, _ in decoded], np.stack([pixels for _, pixels in decoded]))


def _nearest_frames(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, wanted: list[int]
) -> Iterator[tuple[int, av.VideoFrame]]:
    """One pass through the decoded frames; each sample takes the nearer of the frames on either side of it, and a
    frame two samples take is returned once."""
    rate = stream.average_rate or stream.guessed_rate or Fraction(25)
    time_base = stream.time_base or Fraction(1, 1000)
    start = stream.start_time or 0
    previous: tuple[int, av.VideoFrame] | None = None
    returned = -1
    position = 0
    while position < len(wanted):
        if previous is not None and wanted[position] - previous[0] > SEEK_AHEAD:
            target = start + int(wanted[position] / rate / time_base)
            container.seek(target, stream=stream, backward=True)
            previous = None
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            index = round((frame.pts - start) * time_base * rate)
            while position < len(wanted) and index >= wanted[position]:
                near_previous = previous is not None and wanted[position] - previous[0] <= index - wanted[position]
                chosen = previous if near_previous and previous is not None else (index, frame)
                if chosen[0] != returned:
                    returned = chosen[0]
                    yield chosen
                position += 1
            previous = (index, frame)
            if position == len(wanted) or wanted[position] - index > SEEK_AHEAD:
                break
        else:
            if previous is not None and previous[0] != returned:  # the stream ended first: its last frame
                yield previous
            break
