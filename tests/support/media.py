"""Real test media: the scikit-image astronaut composited into frames and encoded as H.264."""

import io
import json
import struct
from functools import cache
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image, PngImagePlugin
from skimage import data

from deepfake.components.faces.video import write_h264

ASTRONAUT_FACE_FRACTION = 100 / 512  # the face is ~100 px tall in the 512 px photo


@cache
def astronaut() -> np.ndarray:
    return data.astronaut()


def decoded_frames(path: Path, indices: list[int] | None = None) -> np.ndarray:
    """Every frame decoded in order, nothing skipped (RGB): the reference for what sampled decoding returns."""
    with av.open(str(path)) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    return np.stack(frames if indices is None else [frames[index] for index in indices])


def face_frame(width: int, height: int, face_height: int, x: int, y: int, background: int = 90) -> np.ndarray:
    """A plain frame with the astronaut photo scaled so the face is `face_height` tall, top-left at (x, y)."""
    frame = np.full((height, width, 3), background, np.uint8)
    side = round(face_height / ASTRONAUT_FACE_FRACTION)
    photo = cv2.resize(astronaut(), (side, side), interpolation=cv2.INTER_AREA)
    visible = photo[: max(0, height - y), : max(0, width - x)]
    frame[y : y + visible.shape[0], x : x + visible.shape[1]] = visible
    return frame


def face_clip(
    path: Path,
    frames: int = 30,
    width: int = 320,
    height: int = 240,
    face_height: int = 60,
    fps: int = 25,
    swap_channels: bool = False,
) -> Path:
    """A clip whose face drifts a little each frame, so frames differ like real video.

    `swap_channels` gives the face BGR colours (the grey background is unchanged): a "manipulation" that a small
    model learns in seconds, so tests can train a detector whose verdicts they can predict.
    """
    side = round(face_height / ASTRONAUT_FACE_FRACTION)
    span_x, span_y = max(1, width - side), max(1, height - side)
    order = [2, 1, 0] if swap_channels else [0, 1, 2]
    write_h264(
        path,
        (face_frame(width, height, face_height, (3 * i) % span_x, (2 * i) % span_y)[..., order] for i in range(frames)),
        fps=fps,
    )
    return path


def two_people(shift: int = 0, hide_right: bool = False) -> np.ndarray:
    """Two astronauts side by side in a 640x240 frame, the right one with swapped colours (the test detector's
    FAKE), both `shift` px further right; `hide_right` leaves only the left one."""
    left = face_frame(320, 240, 70, 40 + shift, 40)
    right = face_frame(320, 240, 70, 60 + shift, 50)[..., ::-1]
    if hide_right:
        right = np.full_like(right, 90)
    return np.ascontiguousarray(np.concatenate([left, right], axis=1))


def two_people_clip(path: Path, frames: int = 12) -> Path:
    write_h264(path, (two_people(shift=2 * index) for index in range(frames)), fps=25)
    return path


def blank_clip(path: Path, frames: int = 20, width: int = 160, height: int = 120) -> Path:
    """A clip with no face in it."""
    write_h264(path, (np.full((height, width, 3), 40 + 5 * i, np.uint8) for i in range(frames)))
    return path


def lying_duration_mkv(path: Path) -> Path:
    """A 1.4 KB Matroska clip of 5 frames whose header claims a duration of 10^15 ms (decord 0.6 allocated for that
    many frames and aborted the process)."""
    write_h264(path.with_suffix(".tmp.mkv"), (np.zeros((48, 64, 3), np.uint8) for _ in range(5)), fps=10)
    data = bytearray(path.with_suffix(".tmp.mkv").read_bytes())
    path.with_suffix(".tmp.mkv").unlink()
    duration = data.find(b"\x44\x89\x88")  # the Duration element, an 8-byte float
    assert duration > 0, "the muxer wrote no 8-byte Duration element"
    data[duration + 3 : duration + 11] = struct.pack(">d", 1e15)
    path.write_bytes(bytes(data))
    return path


def oversized_text_png() -> bytes:
    """An 8x8 PNG whose zTXt chunk decompresses to 2 MB, past Pillow's MAX_TEXT_CHUNK (Pillow raises ValueError)."""
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "x" * (2 * 1024 * 1024), zip=True)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def small_dfdc(root: Path) -> Path:
    """Four originals with one fake each, plus a clip without a face and an unreadable entry, in DFDC's layout."""
    metadata: dict[str, dict] = {}
    for index in range(4):
        face_clip(root / f"part0/real{index}.mp4", frames=8, face_height=50 + 6 * index)
        face_clip(root / f"part0/fake{index}.mp4", frames=8, face_height=53 + 6 * index)
        metadata[f"real{index}.mp4"] = {"label": "REAL", "split": "train", "original": None}
        metadata[f"fake{index}.mp4"] = {"label": "FAKE", "split": "train", "original": f"real{index}.mp4"}
    blank_clip(root / "part0/noface.mp4")
    metadata["noface.mp4"] = {"label": "REAL", "split": "train"}
    (root / "part0/corrupt.mp4").write_bytes(b"corrupt" * 50)
    metadata["corrupt.mp4"] = {"label": "FAKE", "split": "train", "original": "real0.mp4"}
    (root / "part0/metadata.json").write_text(json.dumps(metadata))
    return root
