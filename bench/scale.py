"""DFDC-sized manifests: split-dataset and the training/evaluation face index on synthetic faces.jsonl files, and
the data stages on real clips.

    .venv/bin/python -m bench.scale [--sizes 10000 100000 1000000 4000000] [--faces-per-video 32]
                                    [--clips 128 512 2048]

No videos are needed: each size gets a FaceDataset manifest (two host files, as a two-instance extract-faces writes
them) of `--faces-per-video` faces a video, four fakes an original. Each step runs in a child process of its own,
and reports its own peak RSS. Prints, per size, the wall time, µs a row and peak RSS of split-dataset and of loading
train.jsonl as train-classifier holds it, then each per-row cost ÷ the smallest size's (goal: within 1.20 of it),
the peak RSS at the largest size (goal ≤ 2 GB at 4 M rows) and the split's time there (goal ≤ 60 s at 4 M rows).

Then, for each `--clips` count, a demo dataset of that many short clips (16 frames, 256 px, half of them fakes)
through ingest-videos, extract-faces (10 frames a video, the machine's cores) and split-dataset, each in a child
process: seconds a video, and each stage's per-video cost ÷ the smallest count's (goal: within 1.20). Peak RSS there
is the largest of the stage process and its workers.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FAKES_PER_ORIGINAL = 4
GIB = 1 << 30


def write_manifest(folder: Path, rows: int, faces_per_video: int) -> None:
    """`rows` FaceRecord lines shaped like extract-faces' (keypoints included), split over two host files."""
    hosts = [(folder / f"faces-algo-{host}.jsonl").open("w") for host in (1, 2)]
    (folder / "rejected-algo-1.jsonl").write_text("")
    (folder / "rejected-algo-2.jsonl").write_text("")
    keypoints = json.dumps([[40.5 + point, 52.25 + point] for point in range(6)])
    for row in range(rows):
        video, frame = divmod(row, faces_per_video)
        original = video // (FAKES_PER_ORIGINAL + 1)
        label = int(video % (FAKES_PER_ORIGINAL + 1) != 0)
        video_id = f"dfdc_train_part_{video % 50}/v{video:07d}"
        hosts[video % 2].write(
            f'{{"video_id":"{video_id}","frame_index":{frame * 9},"image":"faces/{video_id}/{frame * 9:05d}_0.jpg",'
            f'"box":[612,233,281,281],"score":0.9731,"label":{label},"group":"o{original:07d}","source_split":"train",'
            f'"method":null,"perturbation":null,"track":0,"keypoints":{keypoints},"crop_keypoints":{keypoints}}}\n'
        )
    for handle in hosts:
        handle.close()


def split(faces: Path, splits: Path) -> None:
    from deepfake.components import RunContext
    from deepfake.components.split_dataset.component import Params, run

    context = RunContext(inputs={"faces": faces}, outputs={"splits": splits})
    started = time.perf_counter()
    run(Params(use_source_splits=False), context)
    report(started)


def index(_: Path, splits: Path) -> None:
    from deepfake.components.face_table import FaceTable

    started = time.perf_counter()
    FaceTable.read(splits / "train.jsonl")
    report(started)


def ingest(videos: Path, manifest: Path) -> None:
    from deepfake.components import RunContext
    from deepfake.components.ingest_videos.component import Params, run

    context = RunContext(inputs={"videos": videos}, outputs={"manifest": manifest})
    started = time.perf_counter()
    run(Params(format="dfdc"), context)
    report(started)


def extract(videos: Path, faces: Path) -> None:
    from deepfake.components import RunContext
    from deepfake.components.extract_faces.component import Params, run

    context = RunContext(inputs={"manifest": videos.parent / "manifest", "videos": videos}, outputs={"faces": faces})
    started = time.perf_counter()
    run(Params(frames_per_video=10), context)
    report(started)


def report(started: float) -> None:
    """The step's time (imports excluded) and peak RSS (this process's, or its largest worker's), for the parent."""
    seconds = time.perf_counter() - started
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(json.dumps({"seconds": seconds, "peak_rss": peak * 1024}))


STEPS = {"split": split, "index": index, "ingest": ingest, "extract": extract}


def measure(step: str, faces: Path, splits: Path) -> tuple[float, int]:
    """Seconds and peak RSS bytes of one step in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--child", step, str(faces), str(splits)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{step} failed:\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout.splitlines()[-1])
    return report["seconds"], report["peak_rss"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000, 4_000_000])
    parser.add_argument("--faces-per-video", type=int, default=32)
    parser.add_argument("--clips", type=int, nargs="*", default=[128, 512, 2048])
    parser.add_argument("--child", nargs=3, metavar=("STEP", "FACES", "SPLITS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, faces, splits = args.child
        STEPS[step](Path(faces), Path(splits))
        return
    rows_part(args.sizes, args.faces_per_video)
    if args.clips:
        clips_part(args.clips)


def rows_part(sizes: list[int], faces_per_video: int) -> None:
    results: dict[str, list[tuple[int, float, int]]] = {"split": [], "index": []}
    for size in sorted(sizes):
        with tempfile.TemporaryDirectory() as scratch:
            faces, splits = Path(scratch, "faces"), Path(scratch, "splits")
            faces.mkdir()
            splits.mkdir()
            write_manifest(faces, size, faces_per_video)
            for step in results:
                wall, rss = measure(step, faces, splits)
                results[step].append((size, wall, rss))
                print(f"{step:6} {size:>9,} rows  {wall:8.2f} s  {wall / size * 1e6:7.2f} µs/row  {rss / GIB:6.2f} GiB")
    for step, rows in results.items():
        base = rows[0][1] / rows[0][0]
        ratios = ", ".join(f"{size:,}: {wall / size / base:.2f}" for size, wall, _ in rows)
        largest, wall, rss = rows[-1]
        print(f"{step}: per-row cost ÷ {rows[0][0]:,} rows' (goal <= 1.20 at the larger sizes) {ratios}")
        print(f"{step}: peak RSS at {largest:,} rows {rss / GIB:.2f} GiB (goal <= 2 GiB at 4,000,000)")
    size, wall, _ = results["split"][-1]
    print(f"split: {size:,} rows in {wall:.1f} s (goal <= 60 s at 4,000,000)")


def clips_part(counts: list[int]) -> None:
    from deepfake.pipelines.demo.dataset import DemoOptions, make_demo_dataset

    results: dict[str, list[tuple[int, float, int]]] = {"ingest": [], "extract": [], "split": []}
    for count in sorted(counts):
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch)
            videos = root / "videos"
            made = make_demo_dataset(videos, DemoOptions(real_videos=count // 2, held_out=0, parts=4))
            print(f"{count} clips made in {made.seconds:.0f} s")
            folders = {"ingest": (videos, root / "manifest"), "extract": (videos, root / "faces")}
            folders["split"] = (root / "faces", root / "splits")
            for step, (source, target) in folders.items():
                target.mkdir()
                seconds, rss = measure(step, source, target)
                results[step].append((count, seconds, rss))
                print(
                    f"{step:7} {count:>5} clips  {seconds:8.2f} s  {seconds / count * 1e3:7.2f} ms/video  "
                    f"{rss / GIB:6.2f} GiB"
                )
    for step, rows in results.items():
        base = rows[0][1] / rows[0][0]
        ratios = ", ".join(f"{count}: {seconds / count / base:.2f}" for count, seconds, _ in rows)
        print(f"{step}: per-video cost ÷ {rows[0][0]} clips' (goal <= 1.20) {ratios}")


if __name__ == "__main__":
    main()
