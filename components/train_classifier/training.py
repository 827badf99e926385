"""The training loop of train-classifier: face data, schedule, checkpoints and the distributed setup.

Everything random is a function of the seed. A self-blend is seeded per (seed, epoch, face) and a batch's
augmentations per (seed, epoch, its faces), so they do not depend on how many DataLoader workers there are or which
worker builds a batch; the model's own randomness (dropout, stochastic depth) draws from the global RNGs, whose
states travel in the checkpoint. A resumed run therefore ends with the same
weights as one that was never interrupted.
"""

import logging
import math
import os
import random
import shlex
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np
import torch
import torch.distributed as dist
from sklearn.metrics import roc_auc_score
from torch import nn
from torch.nn import functional
from torch.nn.parallel import DistributedDataParallel
from torch.optim.lr_scheduler import LambdaLR
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate
from torchvision.transforms import v2
from tqdm import tqdm

from deepfake.components.classifier.model import Aggregation, ModelConfig, build_network, load_pretrained
from deepfake.components.classifier.scoring import eval_transform, load_face, predict_logits, video_probabilities
from deepfake.components.contract import BASE_DIR_ENV, DEFAULT_BASE_DIR, TRAIN_COMMAND, ComponentKind, ContainerLayout
from deepfake.components.face_crops import MEMBER_SEPARATOR, FaceCrops
from deepfake.components.face_table import SplitFaces
from deepfake.components.faces.blending import SelfBlend
from deepfake.components.faces.boxes import FaceBox
from deepfake.components.faces.crop import DEFAULT_MARGIN
from deepfake.components.manifests import LABEL_NAMES, LabelledFace, write_json
from deepfake.components.spec import MetricSpec
from deepfake.components.train_classifier.augment import PoseLighting, augment, draw_poses
from deepfake.components.train_classifier.degrade import Degradation, as_uint8, degrade_face, draw
from deepfake.components.train_classifier.params import FakeSource, Params

log = logging.getLogger(__name__)
CHECKPOINT_FILE = "checkpoint.pt"
CHECKPOINT_FORMAT = 3  # 2: progress keeps the best epoch's validation logits; 3: the weights' moving average
METRICS_FILE = "metrics.json"
DEFAULT_MASTER_PORT = 29500
MAX_DEFAULT_WORKERS = 4
AUC_LEVEL = "video"
METRIC_LINE = "epoch=%d; train_loss=%.4f; val_loss=%.4f; val_auc=%.4f"
"""One line an epoch, for SageMaker metric definitions such as `val_auc=([0-9.]+)`; val_auc is video-level."""
# What SageMaker (the training job's MetricDefinitions) and the local runner read from that line, a value each.
METRICS = tuple(
    MetricSpec(name=name, regex=rf"epoch=\d+;.*\b{name}=([0-9]+\.[0-9]+)")
    for name in ("train_loss", "val_loss", "val_auc")
)
DEGRADE_STREAM = 0xDE  # keeps the degradations' seeds apart from the faces' (seed, epoch, index)
T = TypeVar("T")
Key = tuple[int, int]
"""What the samplers yield and the dataset reads: (epoch, face index)."""
Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
"""What the loaders yield: pixels, targets and face indices."""


@dataclass(frozen=True)
class TrainingData:
    root: Path
    train: SplitFaces
    validation: SplitFaces


@dataclass(frozen=True)
class FitResult:
    network: nn.Module
    summary: dict[str, float | int | str]
    validation_logits: list[float]  # the kept network's, in the order of the validation records


def check_split(name: str, records: SplitFaces, faces: Path) -> None:
    """Fail before any training on what would otherwise fail hours in, or give a meaningless model."""
    if not len(records):
        raise ValueError(
            f"the {name} split is empty ({name}.jsonl has no faces): re-run split-dataset with more videos or a larger "
            f"{name}_ratio"
        )
    classes = set(np.unique(records.labels).tolist())
    if len(classes) == 1:
        only = LABEL_NAMES[classes.pop()]
        why = (
            "ROC AUC is undefined with one class, so the model cannot be validated"
            if name == "validation"
            else "a detector cannot learn to tell REAL from FAKE without examples of both"
        )
        raise ValueError(
            f"the {name} split holds only {only} faces: {why}; re-run split-dataset so that {name} gets both REAL and "
            f"FAKE videos (add videos of the missing class)"
        )
    labels: dict[str, set[int]] = defaultdict(set)
    for video, label in np.unique(np.stack([records.columns["video"], records.labels]), axis=1).T.tolist():
        labels[records.videos[video][0]].add(label)
    mixed = sorted(video for video, found in labels.items() if len(found) > 1)
    if mixed:
        raise ValueError(
            f"{name}.jsonl: video '{mixed[0]}' has both REAL and FAKE faces; every face of a video carries its label: "
            f"rebuild faces.jsonl with extract-faces"
        )
    missing = []
    crops = FaceCrops(faces)
    for image in records.images:
        try:
            found = crops.exists(image)
        except ValueError as exc:
            raise ValueError(f"{name}.jsonl: {exc}") from exc
        if not found:
            missing.append(image)
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} of {len(records)} images in {name}.jsonl are missing from the faces input (first: "
            f"{', '.join(missing[:3])}): the splits must come from split-dataset run on this FaceDataset"
        )


def subsample(records: SplitFaces, limit: int | None, seed: int) -> SplitFaces:
    """A seeded subset in manifest order, for quick runs; the same seed always keeps the same faces."""
    if limit is None or len(records) <= limit:
        return records
    return records.take(sorted(random.Random(seed).sample(range(len(records)), limit)))


def train_transform(config: ModelConfig) -> v2.Compose:
    """A face at the network's size, uint8: every random augmentation runs on the whole batch (`BatchTransform`)."""
    return v2.Compose([v2.ToImage(), v2.Resize((config.image_size, config.image_size), antialias=True)])


class BatchTransform:
    """A training batch (uint8 NCHW) → the network's input: mirrored, moved and relit (`augment`), degraded
    (`degrade`, each degradation with `probability`), normalised; every face with its own draws, all drawn before
    any pixel changes, then each face through every step in turn (one face's working copies stay in the cache). A
    class, not a closure, so that loader workers started by spawning (not forking) can unpickle it."""

    def __init__(self, config: ModelConfig, probability: float, pose_lighting: PoseLighting | None = None) -> None:
        self.pose_lighting = pose_lighting or PoseLighting()
        self.degradation = Degradation(probability=probability)
        levels = np.arange(256, dtype=np.float32)[:, None, None] / 255
        mean, std = (np.array(values, np.float32) for values in (config.mean, config.std))
        self.normalised = (levels - mean) / std  # a level → the network's input, a channel

    def __call__(self, pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        faces = pixels.permute(0, 2, 3, 1).contiguous().numpy()
        poses = draw_poses(len(faces), self.pose_lighting, generator)
        degrade = self.degradation.probability > 0
        draws = draw(len(faces), faces.shape[2], self.degradation, generator).per_face() if degrade else []
        batch = torch.empty(pixels.shape, dtype=torch.float32)
        for index, (face, pose) in enumerate(zip(faces, poses, strict=True)):
            moved = augment(face, pose)
            degraded = degrade_face(moved, *draws[index], generator) if degrade else as_uint8(moved)
            batch[index] = torch.from_numpy(cv2.LUT(degraded, self.normalised)).permute(2, 0, 1)
        return batch


def sample_seed(seed: int, epoch: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, epoch, index]).generate_state(1, np.uint64)[0])


BLENDED = "#self-blended"  # the pseudo-video of a real video's self-blended fakes


def with_self_blends(records: SplitFaces, fake_source: FakeSource) -> SplitFaces:
    """The samples `fake_source` asks for: the dataset's faces, a self-blended fake of each real face (labelled
    FAKE, in a pseudo-video of its own so video-level scores keep it apart), or both."""
    reals = records.take(np.flatnonzero(records.labels == 0))
    kept = reals if fake_source == "self_blended" else records
    if fake_source == "dataset":
        return kept
    return kept.concat(reals.relabelled(1, BLENDED))


def self_blend(pixels: np.ndarray, record: LabelledFace, rng: np.random.Generator) -> np.ndarray:
    """A self-blended fake of a real crop, its mask from the crop's keypoints (or, without, from where the face
    sits in a crop with extract-faces' default margin)."""
    side = pixels.shape[0] / (1 + 2 * DEFAULT_MARGIN)
    offset = (pixels.shape[0] - side) / 2
    face = FaceBox(round(offset), round(offset), round(side), round(side), 1.0)
    return SelfBlend(rng, face, tuple(record.crop_keypoints)).apply(pixels)


@dataclass(frozen=True)
class DecodedCrops:
    pixels: np.ndarray  # (crops, height, width, 3) uint8
    rows: dict[str, int]  # image path as the split names it → its row

    def __getitem__(self, image: str) -> np.ndarray:
        return self.pixels[self.rows[image]].copy()  # a copy: nothing downstream may write into the cache


def decoded_crops(root: Path, images: Iterable[str], budget_bytes: int) -> DecodedCrops | None:
    """Every distinct crop decoded once, in one array (forked loader workers share its pages), when they all have
    one size and fit in `budget_bytes`; None otherwise, and each epoch decodes them again. Gives up as soon as the
    distinct crops outgrow the budget, so a split of millions of faces costs no more than one that fits."""
    if budget_bytes <= 0:
        return None
    rows: dict[str, int] = {}
    first: np.ndarray | None = None
    crops = FaceCrops(root)
    for image in images:
        if image in rows:
            continue
        if first is None:
            first = np.asarray(load_face(crops.open(image)))
        rows[image] = len(rows)
        if first.nbytes * len(rows) > budget_bytes:
            return None
    if first is None:
        return None
    pixels = np.empty((len(rows), *first.shape), np.uint8)
    for image, row in rows.items():
        crop = first if row == 0 else np.asarray(load_face(crops.open(image)))
        if crop.shape != first.shape:
            return None
        pixels[row] = crop
    return DecodedCrops(pixels, rows)


class FaceImages(Dataset[tuple[torch.Tensor, torch.Tensor, int]]):
    """Face crops and their float targets.

    With a `seed` (training), a blend is seeded by (epoch, face), a batch's `batch_transform` by its epoch and faces,
    and JPEGs not in `cache` are draft-decoded at `image_size`; without (validation), faces are decoded and scored
    exactly as evaluate-model scores them.
    """

    def __init__(
        self,
        root: Path,
        records: SplitFaces,
        transform: v2.Compose,
        image_size: int,
        seed: int | None,
        cache: DecodedCrops | None = None,
        batch_transform: BatchTransform | None = None,
    ) -> None:
        self.crops, self.records = FaceCrops(root), records
        self.targets = torch.from_numpy(records.labels.astype(np.float32))
        self.transform, self.seed = transform, seed
        self.draft_size = None if seed is None else image_size
        self.cache = cache
        self.batch_transform = batch_transform

    def __len__(self) -> int:
        return len(self.records)

    def _pixels(self, index: int, draft_size: int | None) -> np.ndarray:
        image = self.records.images[index]
        if self.cache is not None:
            return self.cache[image]
        return np.array(load_face(self.crops.open(image), draft_size))  # writable, as torch wants

    def __getitem__(self, key: Key) -> tuple[torch.Tensor, torch.Tensor, int]:
        epoch, index = key
        if self.records.video_id(index).endswith(BLENDED):  # decoded in full: keypoints are in the crop's pixels
            rng = np.random.default_rng(sample_seed(self.seed or 0, epoch, index))
            image = self_blend(self._pixels(index, None), self.records[index], rng)
        else:
            image = self._pixels(index, self.draft_size)
        return self.transform(image), self.targets[index], index

    def __getitems__(self, keys: list[Key]) -> Batch:
        """A whole batch, built where the loader builds it (a worker process, overlapping the training step):
        stacked, then through `batch_transform` (training's augmentation, degradations and normalisation)."""
        pixels, targets, indices = default_collate([self[key] for key in keys])
        if self.batch_transform is not None:
            pixels = self.batch_transform(pixels, batch_generator(self.seed or 0, keys))
        return pixels, targets, indices


@dataclass(frozen=True)
class Rank:
    """This process's place in the job; a plain process is rank 0 of 1 and never touches torch.distributed."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    local_world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def batch_generator(seed: int, keys: Sequence[Key]) -> torch.Generator:
    """The degradations' RNG for one batch, a function of its epoch and faces: the same whichever worker builds it,
    fresh each epoch, and repeated by a resumed run."""
    entropy = [seed, DEGRADE_STREAM, *(number for key in keys for number in key)]
    return torch.Generator().manual_seed(int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0]))


class ShardShuffle:
    """WebDataset's order, for crops in tar shards that are read from storage (not cached): each epoch the shards in
    a fresh seeded order, each front to back in the order its crops are stored, through a shuffle buffer of `buffer`
    faces. The loaders then read each shard within a window of `buffer` crops instead of at random across the whole
    dataset: what FastFile (ranged reads of S3 objects) and the page cache serve well. A self-blended fake is read
    with the real crop it is made from."""

    def __init__(self, records: SplitFaces, buffer: int) -> None:
        codes: dict[str, int] = {}
        shards = np.fromiter(
            (codes.setdefault(image.partition(MEMBER_SEPARATOR)[0], len(codes)) for image in records.images),
            np.int64,
            len(records),
        )
        stored = np.lexsort((records.columns["row"], shards))
        self.shards = np.split(stored, np.flatnonzero(np.diff(shards[stored])) + 1)
        self.buffer = buffer

    def order(self, rng: random.Random) -> list[int]:
        shards = list(range(len(self.shards)))
        rng.shuffle(shards)
        pool: list[int] = []
        order: list[int] = []
        for shard in shards:
            for index in self.shards[shard].tolist():
                if len(pool) < self.buffer:
                    pool.append(index)
                    continue
                slot = rng.randrange(self.buffer)
                order.append(pool[slot])
                pool[slot] = index
        rng.shuffle(pool)
        return order + pool


class TrainBatches(Sampler[list[Key]]):
    """A fresh seeded shuffle each epoch (or `shards`' order), cut into this rank's equal share (padded by wrapping)
    and batched.

    A final batch of one face is dropped: BatchNorm cannot train on a single sample.
    """

    def __init__(self, size: int, batch_size: int, seed: int, rank: Rank, shards: ShardShuffle | None = None) -> None:
        self.size, self.batch_size, self.seed, self.rank = size, batch_size, seed, rank
        self.shards = shards
        self.per_rank = math.ceil(size / rank.world_size)
        self.epoch = 1

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        full, remainder = divmod(self.per_rank, self.batch_size)
        return full + (remainder > 1)

    def __iter__(self) -> Iterator[list[Key]]:
        rng = random.Random(f"train-classifier:{self.seed}:{self.epoch}")
        if self.shards is None:
            order = list(range(self.size))
            rng.shuffle(order)
        else:
            order = self.shards.order(rng)
        order += order[: self.per_rank * self.rank.world_size - self.size]
        share = order[self.rank.rank :: self.rank.world_size]
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield [(self.epoch, index) for index in share[start : start + self.batch_size]]


def crop_reading(cached: bool, shards: ShardShuffle | None, params: Params) -> str:
    if cached:
        return "decoded once, in memory"
    read = f"decoded each epoch (over cache_mb {params.cache_mb})"
    if shards is None:
        return read
    return f"{read}, {len(shards.shards)} shards read front to back through a buffer of {shards.buffer} faces"


def eval_batches(size: int, batch_size: int, rank: Rank) -> list[list[Key]]:
    share = list(range(rank.rank, size, rank.world_size))
    return [[(0, index) for index in share[start : start + batch_size]] for start in range(0, len(share), batch_size)]


def default_workers(rank: Rank, device: torch.device) -> int:
    """On a GPU, workers build batches while it computes (leaving a core for the training process; more than a few
    rarely helps with small crops). On the CPU the step already runs on every core, and a worker preempting one of
    torch's threads stalls the whole operation: building the batch in the process costs less (bench/train.py on
    two cores: 0.965 of in-memory speed with no worker, 0.858 with one)."""
    if device.type == "cpu":
        return 0
    cores = len(os.sched_getaffinity(0)) // rank.local_world_size
    return max(0, min(MAX_DEFAULT_WORKERS, cores - 1))


def _seed_worker(worker_id: int) -> None:
    """Forked workers inherit the parent's numpy and random states; derive theirs from torch's per-worker seed."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def _loader(
    dataset: FaceImages, batches: Sampler[list[Key]] | list[list[Key]], workers: int, seed: int, device: torch.device
) -> DataLoader:
    """Its own generator keeps the loader from drawing on the global RNG, which belongs to the model. The dataset
    builds whole batches (`FaceImages.__getitems__`), so there is nothing left to collate."""
    return DataLoader(
        dataset,
        batch_sampler=batches,
        collate_fn=_built,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
        worker_init_fn=_seed_worker,
        generator=torch.Generator().manual_seed(seed),
    )


def _built(batch: Any) -> Batch:
    """The loaders' collate_fn; typed Any as DataLoader's stub expects a list of samples."""
    return batch


def warmup_cosine(warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """Learning-rate factor a step: linear warm-up to 1, then cosine decay towards 0 at the last step."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


def processes_per_host(env: Mapping[str, str]) -> int:
    """One process a GPU: SageMaker says how many an instance has (SM_NUM_GPUS), elsewhere CUDA does."""
    gpus = int(env["SM_NUM_GPUS"]) if "SM_NUM_GPUS" in env else torch.cuda.device_count()
    return max(1, gpus)


def needs_launcher(world_size: int, env: Mapping[str, str]) -> bool:
    """More than one process in the job, and this is not yet one of torchrun's (torchrun sets LOCAL_RANK)."""
    return world_size > 1 and "LOCAL_RANK" not in env


def torchrun_command(
    entry_module: str, hosts: Sequence[str], host_index: int, processes: int, port: int = DEFAULT_MASTER_PORT
) -> list[str]:
    """The first host is the rendezvous; on a single host that is this machine, whatever its name resolves to."""
    master = hosts[0] if len(hosts) > 1 else "127.0.0.1"
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nnodes={len(hosts)}",
        f"--node_rank={host_index}",
        f"--nproc_per_node={processes}",
        f"--master_addr={master}",
        f"--master_port={port}",
        "-m",
        entry_module,
        TRAIN_COMMAND,
    ]


def relaunch(entry_module: str, hosts: Sequence[str], host_index: int, processes: int) -> None:
    """Run this entry again under torchrun and wait; each rank goes through the runtime and reports its own failure."""
    port = int(os.environ.get("MASTER_PORT", DEFAULT_MASTER_PORT))
    command = torchrun_command(entry_module, hosts, host_index, processes, port)
    log.info(
        "%d process(es) on each of %d host(s): relaunching under torchrun: %s",
        processes,
        len(hosts),
        shlex.join(command),
    )
    started = time.time()
    returncode = subprocess.run(command, check=False).returncode
    if returncode != 0:
        failure = ContainerLayout(ComponentKind.TRAINING, Path(os.environ.get(BASE_DIR_ENV, DEFAULT_BASE_DIR)))
        reason = "see the ranks' errors in the log above"
        if failure.failure_file.is_file() and failure.failure_file.stat().st_mtime >= started:
            reason = failure.failure_file.read_text()
        raise RuntimeError(f"torchrun exited with status {returncode}: {reason}")


def join_process_group(env: Mapping[str, str]) -> Rank:
    if "LOCAL_RANK" not in env:
        return Rank()
    local_rank = int(env["LOCAL_RANK"])
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return Rank(dist.get_rank(), local_rank, dist.get_world_size(), int(env.get("LOCAL_WORLD_SIZE", "1")))


def leave_process_group() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier(rank: Rank) -> None:
    if rank.world_size > 1:
        dist.barrier()


def _gather(value: T, rank: Rank) -> list[T]:
    if rank.world_size == 1:
        return [value]
    gathered: list[Any] = [None] * rank.world_size
    dist.all_gather_object(gathered, value)
    return gathered


def _broadcast(value: T, rank: Rank) -> T:
    if rank.world_size == 1:
        return value
    holder = [value]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


@dataclass(frozen=True)
class Precision:
    """bf16 autocast where the GPU has it, else fp16 with loss scaling; full fp32 on the CPU."""

    dtype: torch.dtype | None = None

    @classmethod
    def for_device(cls, device: torch.device) -> "Precision":
        if device.type != "cuda":
            return cls()
        return cls(torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)

    @property
    def scaled(self) -> bool:
        return self.dtype is torch.float16

    def autocast(self, device: torch.device) -> AbstractContextManager[Any]:
        return nullcontext() if self.dtype is None else torch.autocast(device.type, dtype=self.dtype)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def capture_rng() -> dict[str, Any]:
    """Tensors, lists and numbers only, so the checkpoint loads with weights_only=True."""
    _, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    version, internal, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "python": {"version": version, "state": list(internal), "gauss": gauss},
    }


def restore_rng(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    python_state = state["python"]
    random.setstate((python_state["version"], tuple(python_state["state"]), python_state["gauss"]))


def save_checkpoint(path: Path, document: Mapping[str, Any]) -> None:
    """Temp file, fsync, rename: a job killed mid-write leaves the previous checkpoint intact."""
    temporary = path.with_name(f".{path.name}.tmp")
    torch.save(dict(document), temporary)
    with temporary.open("rb+") as handle:
        os.fsync(handle.fileno())
    temporary.replace(path)


def load_checkpoint(path: Path, fingerprint: str) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        document = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path} cannot be read ({exc}); delete it to start the training over") from exc
    if document.get("format") != CHECKPOINT_FORMAT or document.get("fingerprint") != fingerprint:
        raise ValueError(
            f"{path} belongs to another training run (its params or data differ: run {document.get('fingerprint')}, "
            f"this one {fingerprint}); give this job an empty checkpoint location (checkpoint_s3_uri) or delete the "
            f"file to start over"
        )
    return document


@dataclass
class Progress:
    """What a restart needs besides weights, optimiser and RNGs: the early-stopping state and the history."""

    epoch: int = 0
    best_epoch: int = 0
    best_val_loss: float = math.inf
    best_val_auc: float = math.nan
    best_val_logits: list[float] = field(default_factory=list)  # what calibration fits, in validation order
    epochs_without_improvement: int = 0
    history: list[dict[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class Scores:
    loss: float
    auc: float
    face_auc: float
    logits: list[float]


def video_auc(records: Sequence[LabelledFace], probabilities: Sequence[float], how: Aggregation) -> float:
    """ROC AUC over videos, each scored as evaluation and serving score it: its most suspicious person."""
    labels = {record.video_id: record.label for record in records}
    videos = video_probabilities(records, probabilities, how)
    return float(roc_auc_score([labels[video] for video in videos], [score for score, _ in videos.values()]))


def fit(
    params: Params,
    config: ModelConfig,
    data: TrainingData,
    pretrained: Path | None,
    checkpoint_dir: Path,
    output_data_dir: Path,
    fingerprint: str,
    rank: Rank,
) -> FitResult:
    """Train until `epochs` or early stopping; return the network holding the best epoch's weights."""
    seed_everything(params.seed + rank.rank)
    device = torch.device("cuda", rank.local_rank) if torch.cuda.is_available() else torch.device("cpu")
    precision = Precision.for_device(device)
    network = build_network(config.architecture)
    if pretrained is not None:
        load_pretrained(network, pretrained)
    network.to(device)
    if device.type == "cuda":
        network.to(memory_format=torch.channels_last)
    model: nn.Module = network
    if rank.world_size > 1:
        model = DistributedDataParallel(network, device_ids=[device.index] if device.type == "cuda" else None)

    workers = default_workers(rank, device) if params.num_workers is None else params.num_workers
    cache = decoded_crops(data.root, chain(data.train.images, data.validation.images), params.cache_mb * 2**20)
    streamed = cache is None and data.train.holds(MEMBER_SEPARATOR)
    shards = ShardShuffle(data.train, params.shuffle_buffer) if streamed else None
    batches = TrainBatches(len(data.train), params.batch_size, params.seed, rank, shards)
    if len(batches) == 0:
        raise ValueError(
            f"the train split has {len(data.train)} faces, too few for one batch of 2 on each of {rank.world_size} "
            "processes: add faces"
        )
    train_set = FaceImages(
        data.root,
        data.train,
        train_transform(config),
        config.image_size,
        params.seed,
        cache,
        BatchTransform(config, params.robustness),
    )
    train_loader = _loader(train_set, batches, workers, params.seed, device)
    validation_loader = _loader(
        FaceImages(data.root, data.validation, eval_transform(config), config.image_size, None, cache),
        eval_batches(len(data.validation), params.batch_size, rank),
        workers,
        params.seed,
        device,
    )
    positives = int(data.train.labels.sum())
    pos_weight = torch.tensor([(len(data.train) - positives) / positives], device=device)
    optimizer = torch.optim.AdamW(network.parameters(), lr=params.learning_rate, weight_decay=params.weight_decay)
    steps = len(batches)
    scheduler = LambdaLR(optimizer, warmup_cosine(params.warmup * steps, params.epochs * steps))
    scaler = torch.amp.GradScaler(device.type, enabled=precision.scaled)
    average = moving_average(network, params.ema_decay)
    validated = network if average is None else average.module

    progress, best_state = Progress(), _cpu_copy(network)
    checkpoint_path = checkpoint_dir / CHECKPOINT_FILE
    checkpoint = _broadcast(load_checkpoint(checkpoint_path, fingerprint) if rank.is_main else None, rank)
    if checkpoint is not None:
        network.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        scaler.load_state_dict(checkpoint["scaler"])
        if average is not None:
            average.load_state_dict(checkpoint["average"])
        progress = Progress(**checkpoint["progress"])
        best_state = checkpoint["best_state"]
        restore_rng(checkpoint["rng"][rank.rank % len(checkpoint["rng"])])
        if rank.is_main:
            log.info("resumed from %s after epoch %d", checkpoint_path, progress.epoch)

    if rank.is_main:
        log.info(
            "training %s on %s (%d process(es), %s, %d loader workers each): %d train faces, %d validation faces "
            "(%s), %d steps an epoch, pos_weight %.3f",
            config.architecture,
            device,
            rank.world_size,
            precision.dtype or torch.float32,
            workers,
            len(data.train),
            len(data.validation),
            crop_reading(cache is not None, shards, params),
            steps,
            pos_weight.item(),
        )
    while progress.epoch < params.epochs and progress.epochs_without_improvement < params.early_stopping_patience:
        epoch = progress.epoch + 1
        batches.set_epoch(epoch)
        train_loss = _train_epoch(
            model,
            train_loader,
            average,
            pos_weight,
            optimizer,
            scheduler,
            scaler,
            precision,
            device,
            rank,
            epoch,
            params.epochs,
        )
        scores = _validate(validated, validation_loader, data.validation, pos_weight, precision, device, rank, config)
        if not (math.isfinite(train_loss) and math.isfinite(scores.loss)):
            raise FloatingPointError(
                f"training diverged in epoch {epoch} (train_loss {train_loss}, val_loss {scores.loss}): lower "
                "learning_rate"
            )
        progress.epoch = epoch
        if scores.loss < progress.best_val_loss:
            progress.best_epoch, progress.best_val_loss, progress.best_val_auc = epoch, scores.loss, scores.auc
            progress.best_val_logits = scores.logits
            progress.epochs_without_improvement = 0
            best_state = _cpu_copy(validated)
        else:
            progress.epochs_without_improvement += 1
        progress.history.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "val_loss": scores.loss,
                "val_auc": scores.auc,
                "val_face_auc": scores.face_auc,
                "learning_rate": float(scheduler.get_last_lr()[0]),
            }
        )
        rng = _gather(capture_rng(), rank)
        if rank.is_main:
            log.info(METRIC_LINE, epoch, train_loss, scores.loss, scores.auc)
            save_checkpoint(
                checkpoint_path,
                {
                    "format": CHECKPOINT_FORMAT,
                    "fingerprint": fingerprint,
                    "model": network.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict(),
                    "average": {} if average is None else average.state_dict(),
                    "progress": asdict(progress),
                    "best_state": best_state,
                    "rng": rng,
                },
            )
            write_json(output_data_dir / METRICS_FILE, _metrics(progress))

    stopped_early = progress.epoch < params.epochs
    if rank.is_main:
        write_json(output_data_dir / METRICS_FILE, _metrics(progress))
        log.info(
            "%s after epoch %d; best epoch %d: val_loss %.4f, val_auc %.4f",
            "early stopping" if stopped_early else "done",
            progress.epoch,
            progress.best_epoch,
            progress.best_val_loss,
            progress.best_val_auc,
        )
    network.load_state_dict(best_state)
    summary: dict[str, float | int | str] = {
        "epochs_run": progress.epoch,
        "stop_reason": "early_stopping" if stopped_early else "epochs",
        "best_epoch": progress.best_epoch,
        "best_val_loss": progress.best_val_loss,
        "val_auc": progress.best_val_auc,
        "val_auc_level": AUC_LEVEL,
        "train_faces": len(data.train),
        "validation_faces": len(data.validation),
        "validation_videos": len(set(data.validation.video_ids())),
    }
    return FitResult(network.eval(), summary, progress.best_val_logits)


def moving_average(network: nn.Module, decay: float) -> AveragedModel | None:
    """An exponential moving average of the weights (BatchNorm statistics included), or None when decay is 0.

    What is validated and kept: a small validation set makes the best single epoch a noisy pick, and the average
    smooths the last steps' noise out of the weights themselves. Its decay warms up as TensorFlow's
    ExponentialMovingAverage's does, min(decay, (1 + t) / (10 + t)) at update t, so that a short run is not an average
    dominated by the initial weights.
    """
    if decay == 0:
        return None

    @torch.no_grad()
    def update(averaged: Sequence[torch.Tensor], current: Sequence[torch.Tensor], count: torch.Tensor | int) -> None:
        rate = 1 - min(decay, (1 + int(count)) / (10 + int(count)))
        for mean, value in zip(averaged, current, strict=True):
            if mean.is_floating_point():
                mean.lerp_(value, rate)
            else:  # counters such as BatchNorm's num_batches_tracked follow the network
                mean.copy_(value)

    return AveragedModel(network, multi_avg_fn=update, use_buffers=True)


def _train_epoch(
    model: nn.Module,
    loader: DataLoader,
    average: AveragedModel | None,
    pos_weight: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    scheduler: LambdaLR,
    scaler: torch.amp.GradScaler,
    precision: Precision,
    device: torch.device,
    rank: Rank,
    epoch: int,
    epochs: int,
) -> float:
    """The mean training loss of the epoch over every process's faces."""
    model.train()
    totals = torch.zeros(2, dtype=torch.float64, device=device)
    show = rank.is_main and sys.stderr.isatty()
    for pixels, targets, _ in tqdm(loader, desc=f"epoch {epoch}/{epochs}", unit="batch", leave=False, disable=not show):
        pixels, targets = _to_device(pixels, targets, device)
        with precision.autocast(device):
            logits = model(pixels).squeeze(1)
        loss = functional.binary_cross_entropy_with_logits(logits.float(), targets, pos_weight=pos_weight)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        if average is not None:
            average.update_parameters(model.module if isinstance(model, DistributedDataParallel) else model)
        totals[0] += loss.detach() * targets.numel()
        totals[1] += targets.numel()
    if rank.world_size > 1:
        dist.all_reduce(totals)
    return float(totals[0] / totals[1])


@torch.inference_mode()
def _validate(
    network: nn.Module,
    loader: DataLoader,
    records: SplitFaces,
    pos_weight: torch.Tensor,
    precision: Precision,
    device: torch.device,
    rank: Rank,
    config: ModelConfig,
) -> Scores:
    """Each rank scores its share with the bare network (DDP's forward would sync buffers on uneven shares).

    The loss is the training objective (same pos_weight), so early stopping watches what the optimiser minimises.
    """
    network.eval()
    loss = torch.zeros((), dtype=torch.float64, device=device)
    indices: list[int] = []
    found: list[float] = []
    for pixels, targets, index in loader:
        pixels, targets = _to_device(pixels, targets, device)
        with precision.autocast(device):
            logits = predict_logits(network, pixels, config.test_time_flip)
        loss += functional.binary_cross_entropy_with_logits(logits, targets, pos_weight=pos_weight, reduction="sum")
        indices += index.tolist()
        found += logits.cpu().tolist()
    shares = _gather((float(loss), indices, found), rank)
    scored = sorted(pair for _, share, values in shares for pair in zip(share, values, strict=True))
    ordered = [logit for _, logit in scored]
    probabilities = torch.sigmoid(torch.tensor(ordered, dtype=torch.float64)).tolist()
    labels = records.labels.tolist()
    return Scores(
        loss=sum(share[0] for share in shares) / len(records),
        auc=video_auc(records, probabilities, config.aggregation),
        face_auc=float(roc_auc_score(labels, probabilities)),
        logits=ordered,
    )


def _to_device(pixels: torch.Tensor, targets: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    if device.type != "cuda":
        return pixels, targets
    pixels = pixels.to(device, non_blocking=True, memory_format=torch.channels_last)
    return pixels, targets.to(device, non_blocking=True)


def _cpu_copy(network: nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.detach().to("cpu", copy=True) for key, value in network.state_dict().items()}


def _metrics(progress: Progress) -> dict[str, Any]:
    return {
        "val_auc_level": AUC_LEVEL,
        "best_epoch": progress.best_epoch,
        "best_val_loss": progress.best_val_loss,
        "best_val_auc": progress.best_val_auc,
        "epochs": progress.history,
    }
