"""Face extraction cost on 10 s H.264 clips encoded as real datasets are (x264's default preset: B-frames,
b-pyramid), at 1080p and 720p with keyframes every 250 and 50 frames, 32 sampled frames each, in one process (one
core).

    .venv/bin/python -m bench.extract [--clips 2] [--rounds 3] [--max-faces 4]

Prints, for each encode, (1) extraction wall time ÷ decoding the same samples (goal ≤ 1.25: detection and cropping
add little to the decode that must happen anyway), and (2) extraction throughput ÷ the seeds' strategy: an OpenCV
read-through that decodes and converts every frame and runs the same detector on the sampled ones (goal ≥ 1.5x), and
the faces each found (they must be equal). Each time is the median of `--rounds` rounds, the three ways taking turns
within a round, so that the machine's drift moves all three alike (one round of 2 clips moved a ratio by ±0.25).
"""

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "threads;1")

import cv2

from deepfake.components.extract_faces.extraction import ExtractionSettings, extract_video
from deepfake.components.faces.crop import square_crop
from deepfake.components.faces.decoding import iter_sampled
from deepfake.components.faces.detection import FaceDetector
from deepfake.components.faces.probing import Prober
from deepfake.components.faces.sampling import evenly_spaced
from deepfake.components.faces.video import write_h264
from deepfake.components.manifests import VideoRecord
from tests.support.media import ASTRONAUT_FACE_FRACTION, face_frame

FRAMES, FPS, SAMPLED = 250, 25, 32
ENCODES = ((1920, 1080, 250), (1920, 1080, 50), (1280, 720, 250), (1280, 720, 50))
"""(width, height, keyframe interval): 250 is x264's default (10 s at 25 fps), 50 a short GOP."""


def make_clip(path: Path, width: int, height: int, gop: int, seed: int) -> None:
    face_height = round(height * 0.185)  # 200 px in 1080p, as in DFDC's close-ups
    side = round(face_height / ASTRONAUT_FACE_FRACTION)
    span_x, span_y = width - side, height - side
    frames = (
        face_frame(width, height, face_height, (seed * 300 + 4 * i) % span_x, (seed * 100 + 2 * i) % span_y, 60 + seed)
        for i in range(FRAMES)
    )
    write_h264(path, frames, fps=FPS, gop=gop, preset="medium")


def decode_only(path: Path) -> int:
    """Frame by frame, as extraction decodes (read_sampled's stacking of the frames would cost a copy of them all)."""
    return sum(1 for _ in iter_sampled(path, evenly_spaced(FRAMES, SAMPLED)))


def opencv_baseline(path: Path, detector: FaceDetector, settings: ExtractionSettings) -> int:
    capture = cv2.VideoCapture(str(path))
    wanted = set(evenly_spaced(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), SAMPLED))
    faces, index = 0, 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index in wanted:
            found = detector.detect(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            if found:
                square_crop(frame, found[0], settings.margin, settings.face_size)
                faces += 1
        index += 1
    capture.release()
    return faces


def timed(function: Callable[..., Any], *calls: tuple[Any, ...]) -> tuple[float, list[Any]]:
    started = time.perf_counter()
    results = [function(*arguments) for arguments in calls]
    return time.perf_counter() - started, results


def bench_encode(
    root: Path,
    width: int,
    height: int,
    gop: int,
    clips: int,
    rounds: int,
    detector: FaceDetector,
    prober: Prober,
    max_faces: int,
) -> None:
    settings = ExtractionSettings(
        frames_per_video=SAMPLED,
        face_size=224,
        margin=0.3,
        jpeg_quality=95,
        min_score=0.5,
        max_frame_pixels=width * height,
        max_faces=max_faces,
        align=True,
    )
    paths = [root / f"{height}p-gop{gop}-{index}.mp4" for index in range(clips)]
    for index, path in enumerate(paths):
        make_clip(path, width, height, gop, index)
    records = [
        VideoRecord(
            id=path.stem,
            path=path.name,
            label=0,
            group=path.stem,
            dataset="bench",
            frames=FRAMES,
            fps=FPS,
            width=width,
            height=height,
            duration_s=FRAMES / FPS,
        )
        for path in paths
    ]
    decode_only(paths[0])
    prober.probe(paths[0])  # its child process starts once per worker, not per video
    times: dict[str, list[float]] = {"decode": [], "extract": [], "opencv": []}
    for round_ in range(rounds):
        seconds, _ = timed(decode_only, *[(path,) for path in paths])
        times["decode"].append(seconds)
        output = root / f"out-{height}p-gop{gop}-{round_}"  # new files, as in a run (replacing old ones costs more)
        seconds, results = timed(
            extract_video,
            *[(record, root / record.path, output, settings, detector, prober) for record in records],
        )
        times["extract"].append(seconds)
        seconds, opencv_faces = timed(opencv_baseline, *[(path, detector, settings) for path in paths])
        times["opencv"].append(seconds)
    decode_s, extract_s, opencv_s = (statistics.median(times[way]) for way in ("decode", "extract", "opencv"))
    frames_with_face = sum(len({face.frame_index for face in result.faces}) for result in results)
    sampled = sum(result.frames_sampled for result in results)
    print(f"{clips} clips {width}x{height}, keyframe every {gop} frames, max_faces {max_faces}, median of {rounds}")
    print(f"  decode the samples (PyAV)      {decode_s:7.2f} s")
    print(f"  extraction                     {extract_s:7.2f} s   frames with a face {frames_with_face}/{sampled}")
    print(f"  OpenCV read-through + detect   {opencv_s:7.2f} s   frames with a face {sum(opencv_faces)}/{sampled}")
    print(f"  extraction / decode only       {extract_s / decode_s:7.3f}   (goal <= 1.25)")
    print(f"  throughput vs OpenCV baseline  {opencv_s / extract_s:7.3f}x  (goal >= 1.5x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=2, help="clips an encode")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each time is their median")
    parser.add_argument("--max-faces", type=int, default=4, help="extract-faces' max_faces (its default: 4)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, FaceDetector() as detector, Prober() as prober:
        for width, height, gop in ENCODES:
            bench_encode(Path(folder), width, height, gop, args.clips, args.rounds, detector, prober, args.max_faces)


if __name__ == "__main__":
    main()
