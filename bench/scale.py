"""DFDC-sized manifests: split-dataset and the training/evaluation face index on synthetic faces.jsonl files.

    .venv/bin/python -m bench.scale [--sizes 10000 100000 1000000 4000000] [--faces-per-video 32]

No videos are needed: each size gets a FaceDataset manifest (two host files, as a two-instance extract-faces writes
them) of `--faces-per-video` faces a video, four fakes an original. Each step runs in a child process of its own,
and reports its own peak RSS. Prints, per size, the wall time, µs a row and peak RSS of split-dataset and of loading
train.jsonl as train-classifier holds it, then each per-row cost ÷ the smallest size's (goal: within 1.20 of it),
the peak RSS at the largest size (goal ≤ 2 GB at 4 M rows) and the split's time there (goal ≤ 60 s at 4 M rows).
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


def report(started: float) -> None:
    """The step's time (imports excluded) and this process's peak RSS, for the parent."""
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


STEPS = {"split": split, "index": index}


def measure(step: str, faces: Path, splits: Path) -> tuple[float, int]:
    """Seconds and peak RSS bytes of one step in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--child", step, str(faces), str(splits)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    report = json.loads(done.stdout.splitlines()[-1])
    return report["seconds"], report["peak_rss"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000, 4_000_000])
    parser.add_argument("--faces-per-video", type=int, default=32)
    parser.add_argument("--child", nargs=3, metavar=("STEP", "FACES", "SPLITS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, faces, splits = args.child
        STEPS[step](Path(faces), Path(splits))
        return
    results: dict[str, list[tuple[int, float, int]]] = {step: [] for step in STEPS}
    for size in sorted(args.sizes):
        with tempfile.TemporaryDirectory() as scratch:
            faces, splits = Path(scratch, "faces"), Path(scratch, "splits")
            faces.mkdir()
            splits.mkdir()
            write_manifest(faces, size, args.faces_per_video)
            for step in STEPS:
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


if __name__ == "__main__":
    main()
