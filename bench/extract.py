"""Face extraction cost on 10 s 1080p H.264 clips, 32 sampled frames each, in one process (one core).

    .venv/bin/python -m bench.extract [--clips 3] [--face-height 200]

Prints (1) extraction wall time ÷ decode-only time for the same frames (goal ≤ 1.25: detection and cropping add
little to the decode that must happen anyway), and (2) extraction throughput ÷ an OpenCV read-through baseline that
decodes every frame sequentially and runs the same detector on the same sampled frames (goal ≥ 1.5x).
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "threads;1")

import cv2

from deepfake.components.extract_faces.extraction import ExtractionSettings, extract_video
from deepfake.components.faces.crop import square_crop
from deepfake.components.faces.detection import FaceDetector
from deepfake.components.faces.probing import Prober
from deepfake.components.faces.sampling import evenly_spaced, open_video, probe, read_frames
from deepfake.components.faces.video import write_h264
from deepfake.components.manifests import VideoRecord
from tests.support.media import ASTRONAUT_FACE_FRACTION, face_frame

FRAMES, FPS, WIDTH, HEIGHT, SAMPLED = 250, 25, 1920, 1080, 32


def make_clip(path: Path, face_height: int, seed: int, gop: int) -> None:
    side = round(face_height / ASTRONAUT_FACE_FRACTION)
    span_x, span_y = WIDTH - side, HEIGHT - side
    frames = (
        face_frame(WIDTH, HEIGHT, face_height, (seed * 300 + 4 * i) % span_x, (seed * 100 + 2 * i) % span_y, 60 + seed)
        for i in range(FRAMES)
    )
    write_h264(path, frames, fps=FPS, gop=gop)


def decode_only(path: Path) -> int:
    reader = open_video(path)
    return len(read_frames(reader, evenly_spaced(probe(reader).frames, SAMPLED)))


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


def timed(function, *args) -> tuple[float, list]:
    started = time.perf_counter()
    results = [function(*args_for) for args_for in args]
    return time.perf_counter() - started, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=3)
    parser.add_argument("--face-height", type=int, default=200)
    parser.add_argument("--gop", type=int, default=250, help="keyframe interval: 250 is x264's default (10 s)")
    parser.add_argument("--max-faces", type=int, default=4, help="extract-faces' max_faces (its default: 4)")
    args = parser.parse_args()
    settings = ExtractionSettings(
        frames_per_video=SAMPLED,
        face_size=224,
        margin=0.3,
        jpeg_quality=95,
        min_score=0.5,
        max_frame_pixels=WIDTH * HEIGHT,
        max_faces=args.max_faces,
        align=True,
    )
    with tempfile.TemporaryDirectory() as folder, FaceDetector() as detector, Prober() as prober:
        root = Path(folder)
        clips = [root / f"clip-{index}.mp4" for index in range(args.clips)]
        for index, clip in enumerate(clips):
            make_clip(clip, args.face_height, index, args.gop)
        records = [
            VideoRecord(
                id=clip.stem,
                path=clip.name,
                label=0,
                group=clip.stem,
                dataset="bench",
                frames=FRAMES,
                fps=FPS,
                width=WIDTH,
                height=HEIGHT,
                duration_s=FRAMES / FPS,
            )
            for clip in clips
        ]
        decode_only(clips[0])
        prober.probe(clips[0])  # its child process starts once per worker, not per video
        decode_s, _ = timed(decode_only, *[(clip,) for clip in clips])
        extract_s, results = timed(
            extract_video,
            *[(record, root / record.path, root / "out", settings, detector, prober) for record in records],
        )
        opencv_s, opencv_faces = timed(opencv_baseline, *[(clip, detector, settings) for clip in clips])
    faces = sum(len(result.faces) for result in results)
    sampled = sum(result.frames_sampled for result in results)
    print(
        f"{args.clips} clips of {FRAMES / FPS:g} s {WIDTH}x{HEIGHT} H.264 (keyframe every {args.gop} frames),"
        f" {SAMPLED} frames each, face {args.face_height} px, max_faces {args.max_faces}"
    )
    print(f"  decode only (decord batched)   {decode_s:7.2f} s")
    print(f"  extraction (decode+detect+crop+JPEG) {extract_s:7.2f} s   faces {faces}/{sampled}")
    print(f"  OpenCV read-through + detect   {opencv_s:7.2f} s   faces {sum(opencv_faces)}/{sampled}")
    print(f"  extraction / decode only       {extract_s / decode_s:7.3f}   (goal <= 1.25)")
    print(f"  throughput vs OpenCV baseline  {opencv_s / extract_s:7.3f}x  (goal >= 1.5x)")


if __name__ == "__main__":
    main()
