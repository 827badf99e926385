"""Training throughput with the real data path ÷ with tensors already in memory (goal ≥ 0.90), and the loader's own
speed.

    .venv/bin/python -m bench.train [--architecture resnet18] [--size 64] [--faces 512] [--workers N]
                                    [--no-cache] [--shard-size N] [--loader-only]

The same model, batch size and steps; the only difference is where the batches come from: the component's
FaceImages dataset through its DataLoader as train-classifier runs them (crops decoded once into memory, or with
--no-cache decoded each time, from loose JPEGs or, with --shard-size, from tar shards read front to back through
the shuffle buffer; then the batch's pose, lighting and degradations and its normalisation, where the loader builds
the batch), or a pre-built tensor. A ratio near 1 means loading hides behind compute. The two alternate for
`--rounds` rounds and the median ratio is the result: this machine's CPU speed drifts by 2x within a minute, so a
single pair is not evidence.

"Loader alone" is the faces a second the loader builds with no training step: with N workers on a GPU, about N
times this (with --workers 0) is what the data path can feed it. --loader-only prints just that (at 224 px a CPU
training step would take minutes to measure).
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.nn import functional

from deepfake.components.classifier.model import ModelConfig, build_network
from deepfake.components.extract_faces.shards import ShardWriter
from deepfake.components.face_table import FaceTable
from deepfake.components.manifests import LabelledFace
from deepfake.components.train_classifier.params import Params
from deepfake.components.train_classifier.training import (
    BatchTransform,
    FaceImages,
    Rank,
    ShardShuffle,
    TrainBatches,
    _loader,
    decoded_crops,
    default_workers,
    train_transform,
)


def images_per_second(network: torch.nn.Module, batches, steps: int) -> float:
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-3)
    network.train()
    started, seen = None, 0
    for step, (pixels, targets, *_) in enumerate(batches):
        if step == 2:
            started, seen = time.perf_counter(), 0
        loss = functional.binary_cross_entropy_with_logits(network(pixels).squeeze(1), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seen += targets.numel()
        if step + 1 >= steps:
            break
    assert started is not None, "too few steps to measure"
    return seen / (time.perf_counter() - started)


def loader_faces_per_second(batches, steps: int) -> float:
    """The loader alone, no training step: how many faces a second it builds (decoded, blended, augmented, degraded
    and normalised), which says how many workers keep a given training speed fed."""
    started, seen = time.perf_counter(), 0
    for step, (_, targets, *_) in enumerate(batches):
        seen += targets.numel()
        if step + 1 >= steps:
            break
    return seen / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--architecture", default="resnet18")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--faces", type=int, default=512)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--workers", type=int, default=default_workers(Rank(), torch.device("cpu")))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-cache", action="store_true", help="decode the JPEGs each epoch (cache_mb 0)")
    parser.add_argument("--shard-size", type=int, default=0, help="pack the crops into tar shards of this many")
    parser.add_argument("--loader-only", action="store_true", help="measure the loader alone, no training")
    args = parser.parse_args()
    config = ModelConfig(architecture=args.architecture, image_size=args.size, version="bench")
    steps = args.faces // args.batch
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        records = []
        for index in range(args.faces):
            Image.fromarray(rng.integers(0, 255, (args.size, args.size, 3), dtype=np.uint8)).save(root / f"{index}.jpg")
            records.append(
                LabelledFace(
                    video_id=f"v{index}",
                    frame_index=0,
                    image=f"{index}.jpg",
                    box=(0, 0, 1, 1),
                    score=1.0,
                    label=index % 2,
                    group=f"v{index}",
                )
            )
        if args.shard_size:
            with ShardWriter(root, "algo-1", args.shard_size) as shards:
                records = [shards.add(record) for record in records]
        budget = 0 if args.no_cache else Params().cache_mb * 2**20
        table = FaceTable.from_rows(records, LabelledFace)
        cache = decoded_crops(root, table.images, budget)
        order = ShardShuffle(table, Params().shuffle_buffer) if cache is None and args.shard_size else None
        dataset = FaceImages(
            root, table, train_transform(config), args.size, 0, cache, BatchTransform(config, Params().robustness)
        )
        loader = _loader(
            dataset, TrainBatches(len(records), args.batch, 0, Rank(), order), args.workers, 0, torch.device("cpu")
        )
        memory = [
            (torch.randn(args.batch, 3, args.size, args.size), torch.randint(0, 2, (args.batch,)).float())
            for _ in range(0 if args.loader_only else steps)
        ]
        loader_alone = statistics.median(loader_faces_per_second(loader, steps) for _ in range(args.rounds))
        pairs = []
        for _ in range(0 if args.loader_only else args.rounds):
            torch.manual_seed(0)
            in_memory = images_per_second(build_network(args.architecture), memory, steps)
            torch.manual_seed(0)
            real = images_per_second(build_network(args.architecture), loader, steps)
            pairs.append((in_memory, real))
    print(
        f"{args.architecture} at {args.size} px, batch {args.batch}, {steps} steps, {args.workers} loader workers,"
        f" crops {'in memory' if cache is not None else 'decoded each time'}"
        f"{f' from shards of {args.shard_size}' if args.shard_size else ''}, {torch.get_num_threads()} torch threads"
    )
    for in_memory, real in pairs:
        print(f"  in-memory {in_memory:6.1f} images/s   real DataLoader {real:6.1f} images/s   {real / in_memory:.3f}")
    print(f"  loader alone {loader_alone:7.1f} faces/s (median of {args.rounds})")
    if pairs:
        ratio = statistics.median(real / in_memory for in_memory, real in pairs)
        print(f"  median real / in-memory  {ratio:.3f}   (goal >= 0.90)")


if __name__ == "__main__":
    main()
