"""H.264 MP4 writing with PyAV (its wheels carry libx264): perturb-videos', the demo dataset's and the tests' videos."""

from collections.abc import Iterable
from pathlib import Path

import av
import numpy as np


def write_h264(
    path: Path, frames: Iterable[np.ndarray], fps: int = 25, crf: int = 23, gop: int = 250, preset: str = "veryfast"
) -> int:
    """Encode RGB uint8 frames (even width and height) as yuv420p H.264; returns the number of frames.

    `gop` is the keyframe interval (x264's default is 250); `preset` x264's (its default is medium; both have 3
    B-frames and b-pyramid); mbtree is off because it made x264's output depend on thread timing, and the demo dataset
    must be reproducible.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with av.open(str(path), mode="w") as container:
        stream = None
        for frame in frames:
            if stream is None:
                height, width = frame.shape[:2]
                if height % 2 or width % 2:
                    raise ValueError(f"H.264 yuv420p needs even dimensions, got {width}x{height}")
                stream = container.add_stream(
                    "libx264",
                    rate=fps,
                    options={"crf": str(crf), "preset": preset, "x264-params": f"mbtree=0:keyint={gop}"},
                )
                stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
            count += 1
        if stream is None:
            raise ValueError(f"{path}: no frames to write")
        for packet in stream.encode():
            container.mux(packet)
    return count
