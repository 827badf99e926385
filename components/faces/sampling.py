"""What every stage knows of a video before it decodes one: its probe (frames, rate, frame size), the frame-size
limit, and the evenly spaced samples. The probe opens the video with PyAV, the decoder the stages then use, and
decodes its first frame; `faces/probing.py` runs it in a child process, so that a file that crashes FFmpeg takes only
that child down."""

from dataclasses import dataclass
from pathlib import Path

import av


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


def probe(path: Path) -> VideoProbe:
    """The frame size is the first frame's as decoded, not what a header claims. The frame count is the container's
    index where it keeps one (MP4, MOV), else the stream's packets counted without decoding them (Matroska, WebM)."""
    if not path.is_file():
        raise VideoReadError(f"missing file {path.name}")
    if path.stat().st_size == 0:
        raise VideoReadError("empty file")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoReadError("no video stream")
            stream = container.streams.video[0]
            stream.thread_type, stream.thread_count = "SLICE", 1  # frame threads would decode ahead for nothing
            first: av.VideoFrame | None = None
            packets = 0
            for packet in container.demux(stream):
                packets += packet.size > 0
                if first is None:
                    first = next(iter(packet.decode()), None)
                if first is not None and stream.frames:
                    break
            if first is None:  # the decoder still holds the frames it reorders
                first = next(iter(stream.codec_context.decode(None)), None)
    except av.FFmpegError as exc:
        if isinstance(exc, MemoryError):  # FFmpeg's ENOMEM: the probing process's limit, which it reports
            raise
        raise VideoReadError(f"unreadable video: {exc.strerror or type(exc).__name__}") from exc
    frames = stream.frames or packets
    if frames == 0:
        raise VideoReadError("zero frames")
    if first is None:
        raise VideoReadError("first frame does not decode")
    rate = stream.average_rate or stream.guessed_rate
    return VideoProbe(frames=frames, fps=float(rate) if rate else 0.0, width=first.width, height=first.height)


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
