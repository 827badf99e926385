import json
import logging
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from deepfake.components.classifier.model import CONFIG_FILE, WEIGHTS_FILE, ModelConfig, build_network, load_model
from deepfake.components.classifier.scoring import eval_transform, predict_logits, predict_probabilities
from deepfake.components.context import RunContext
from deepfake.components.extract_faces.shards import ShardWriter
from deepfake.components.face_table import FaceTable
from deepfake.components.manifests import FaceRecord, LabelledFace, read_jsonl, write_jsonl
from deepfake.components.runtime import main
from deepfake.components.train_classifier import training
from deepfake.components.train_classifier.calibration import THRESHOLD_RULE
from deepfake.components.train_classifier.component import COMPONENT, Params, calibrate, run, run_fingerprint
from deepfake.components.train_classifier.training import (
    CHECKPOINT_FILE,
    FaceImages,
    Rank,
    ShardShuffle,
    TrainBatches,
    default_workers,
    needs_launcher,
    processes_per_host,
    torchrun_command,
    train_transform,
    warmup_cosine,
)
from tests.support.ports import free_port

FACE_SIZE = 32
EPOCHS = 3
HYPERPARAMETERS = {
    "architecture": "resnet18",
    "image_size": str(FACE_SIZE),
    "epochs": str(EPOCHS),
    "batch_size": "8",
    "num_workers": "0",
    "fake_source": "dataset",  # these tests train on a signal of their own (a brighter centre), not on blends
}
METRIC_LINE = re.compile(r"epoch=(\d+); train_loss=(\d+\.\d{4}); val_loss=(\d+\.\d{4}); val_auc=(\d\.\d{4})")


def write_faces(root: Path, videos: dict[str, int], faces_per_video: int = 4, invert_validation: bool = False) -> None:
    """32 px noise "faces"; FAKE ones (or REAL ones in an inverted validation split) have a brighter centre."""
    rng = np.random.default_rng(0)
    faces, splits = root / "faces", root / "splits"
    splits.mkdir(parents=True)
    manifests: dict[str, list[FaceRecord]] = {"train": [], "validation": [], "test": []}
    for split, count in videos.items():
        for number in range(count):
            label = number % 2
            video = f"{split}-{number:02d}"
            bright = 1 - label if invert_validation and split == "validation" else label
            for frame in range(faces_per_video):
                pixels = rng.normal(110, 35, (FACE_SIZE, FACE_SIZE, 3))
                pixels[8:-8, 8:-8] += 45 * bright
                image = f"faces/{video}/{frame:05d}.jpg"
                (faces / image).parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(faces / image, quality=90)
                record = FaceRecord(
                    video_id=video,
                    frame_index=frame,
                    image=image,
                    box=(0, 0, 64, 64),
                    score=0.9,
                    label=label,
                    group=video,
                )
                manifests[split].append(record)
    write_jsonl(faces / "faces.jsonl", [row for rows in manifests.values() for row in rows])
    (faces / "rejected.jsonl").write_text("")
    for split, rows in manifests.items():
        write_jsonl(splits / f"{split}.jsonl", rows)
    (splits / "counts.json").write_text("{}")


def prepare_job(base: Path, dataset: Path, hyperparameters: dict[str, str]) -> Path:
    """A SageMaker training container's folders under `base`, the channels linked to the dataset."""
    channels = base / "input" / "data"
    channels.mkdir(parents=True)
    for name in ("faces", "splits"):
        (channels / name).symlink_to(dataset / name)
    (base / "input" / "config" / "hyperparameters.json").parent.mkdir(parents=True)
    (base / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    return base


def train_in_process(base: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[str]]:
    """Run the entry in this process; return its exit code and the training log's messages."""
    messages: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger(training.__name__)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(base))
    try:
        code = main(COMPONENT, ["train"])
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return code, messages


def weights(base: Path) -> dict[str, torch.Tensor]:
    return torch.load(base / "model" / WEIGHTS_FILE, map_location="cpu", weights_only=True)


def assert_same_weights(left: dict[str, torch.Tensor], right: dict[str, torch.Tensor]) -> None:
    assert left.keys() == right.keys()
    different = [key for key in left if not torch.equal(left[key], right[key])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"


def failure(base: Path) -> str:
    return (base / "output" / "failure").read_text()


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """The machine is shared; one thread is also what the killed subprocess uses, so their floats match exactly."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dataset")
    write_faces(root, {"train": 8, "validation": 6}, faces_per_video=4)
    return root


@pytest.fixture(scope="module")
def reference(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """One uninterrupted run on one CPU process, with torch.distributed and the torchrun relaunch made to explode."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a single CPU process must not start a process group or relaunch itself")

    base = prepare_job(tmp_path_factory.mktemp("reference"), dataset, HYPERPARAMETERS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch.distributed, "init_process_group", forbidden)
        patch.setattr(training.subprocess, "run", forbidden)
        code, messages = train_in_process(base, patch)
    assert code == 0, (base / "output" / "failure").read_text()
    return base, messages


def test_training_lowers_the_loss_and_writes_a_model_that_reloads_identically(
    reference: tuple[Path, list[str]], dataset: Path
) -> None:
    base, _ = reference
    metrics = json.loads((base / "output" / "data" / "metrics.json").read_text())
    history = metrics["epochs"]
    assert [row["epoch"] for row in history] == [1, 2, 3]
    # The kept (averaged) weights' validation loss falls; the raw training loss on 4 freshly augmented batches an
    # epoch at the peak learning rate is too noisy over 3 epochs to order.
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    assert all(math.isfinite(row["train_loss"]) for row in history)

    network, config = load_model(base / "model")
    assert config.architecture == "resnet18" and config.image_size == FACE_SIZE
    assert re.fullmatch(rf"train-classifier-{re.escape(COMPONENT.version)}-[0-9a-f]{{12}}", config.version)
    assert config.training["epochs_run"] == EPOCHS and config.training["stop_reason"] == "epochs"
    assert config.training["train_faces"] == 32 and config.training["validation_faces"] == 24
    assert config.training["best_epoch"] == metrics["best_epoch"]
    assert config.training["val_auc_level"] == "video" and config.training["val_auc"] > 0.5
    assert config.training["threshold_rule"] == THRESHOLD_RULE and config.temperature == config.training["temperature"]
    validation = read_jsonl(dataset / "splits" / "validation.jsonl", LabelledFace)
    transform = eval_transform(config)
    batch = torch.stack([transform(Image.open(dataset / "faces" / row.image).convert("RGB")) for row in validation])
    assert config.test_time_flip, "scored with the mirror image by default"
    with torch.no_grad():
        logits = predict_logits(network, batch, flip=True).tolist()
    calibrated = calibrate(config.model_copy(update={"threshold": 0.5, "temperature": 1.0}), validation, logits, None)
    assert (calibrated.temperature, calibrated.threshold) == (config.temperature, config.threshold)

    checkpoint = torch.load(base / "checkpoints" / CHECKPOINT_FILE, map_location="cpu", weights_only=True)
    rebuilt = build_network(config.architecture)
    rebuilt.load_state_dict(checkpoint["best_state"])
    transform = eval_transform(config)
    images = sorted((dataset / "faces" / "faces").glob("validation-*/*.jpg"))
    batch = torch.stack([transform(Image.open(path).convert("RGB")) for path in images])
    assert np.array_equal(
        predict_probabilities(network, batch, config),
        predict_probabilities(rebuilt.eval(), batch, config),
    )


def test_each_epoch_logs_one_line_that_sagemaker_metric_regexes_read(reference: tuple[Path, list[str]]) -> None:
    base, messages = reference
    lines = [message for message in messages if message.startswith("epoch=")]
    assert len(lines) == EPOCHS and all(METRIC_LINE.fullmatch(line) for line in lines)
    history = json.loads((base / "output" / "data" / "metrics.json").read_text())["epochs"]
    for line, row in zip(lines, history, strict=True):
        epoch, train_loss, val_loss, val_auc = METRIC_LINE.fullmatch(line).groups()  # type: ignore[union-attr]
        assert int(epoch) == row["epoch"] and float(val_loss) == round(row["val_loss"], 4)
        assert float(train_loss) == round(row["train_loss"], 4) and float(val_auc) == round(row["val_auc"], 4)


def test_a_killed_job_resumes_from_its_checkpoint_and_ends_with_the_same_weights(
    reference: tuple[Path, list[str]], dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also the determinism test: the same seed and data, trained in two processes with a kill between them, give
    the reference's weights, history and model.json bit for bit."""
    base = prepare_job(tmp_path, dataset, HYPERPARAMETERS)
    checkpoint = base / "checkpoints" / CHECKPOINT_FILE
    environment = {"SAGEMAKER_BASE_DIR": str(base), "PATH": os.environ["PATH"], "OMP_NUM_THREADS": "1"}
    job = subprocess.Popen(
        [sys.executable, "-m", "deepfake.components.train_classifier", "train"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    job.send_signal(signal.SIGKILL)
    _, errors = job.communicate()
    assert job.returncode == -signal.SIGKILL, errors.decode()[-2000:]
    killed_after = torch.load(checkpoint, map_location="cpu", weights_only=True)["progress"]["epoch"]
    assert 1 <= killed_after < EPOCHS
    assert not (base / "model" / WEIGHTS_FILE).exists()

    code, messages = train_in_process(base, monkeypatch)
    assert code == 0, failure(base)
    assert any(message.endswith(f"after epoch {killed_after}") for message in messages if "resumed" in message)
    assert sum(message.startswith("epoch=") for message in messages) == EPOCHS - killed_after
    assert_same_weights(weights(base), weights(reference[0]))
    history = json.loads((base / "output" / "data" / "metrics.json").read_text())["epochs"]
    assert history == json.loads((reference[0] / "output" / "data" / "metrics.json").read_text())["epochs"]
    config = json.loads((base / "model" / CONFIG_FILE).read_text())
    assert config == json.loads((reference[0] / "model" / CONFIG_FILE).read_text())


def test_a_checkpoint_of_another_run_is_refused(
    reference: tuple[Path, list[str]], dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = prepare_job(tmp_path, dataset, {**HYPERPARAMETERS, "learning_rate": "0.01"})
    (base / "checkpoints").mkdir()
    (base / "checkpoints" / CHECKPOINT_FILE).write_bytes((reference[0] / "checkpoints" / CHECKPOINT_FILE).read_bytes())
    code, _ = train_in_process(base, monkeypatch)
    assert code == 1
    assert "belongs to another training run" in failure(base) and "empty checkpoint location" in failure(base)


@pytest.mark.slow
def test_early_stopping_ends_the_run_and_keeps_the_best_epoch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation labels are the inverse of what training teaches, so validation loss rises once learning starts."""
    write_faces(tmp_path / "dataset", {"train": 8, "validation": 4}, faces_per_video=2, invert_validation=True)
    hyperparameters = {**HYPERPARAMETERS, "epochs": "10", "early_stopping_patience": "1"}
    base = prepare_job(tmp_path / "job", tmp_path / "dataset", hyperparameters)
    code, _ = train_in_process(base, monkeypatch)
    assert code == 0, failure(base)
    training_summary = json.loads((base / "model" / CONFIG_FILE).read_text())["training"]
    assert training_summary["stop_reason"] == "early_stopping"
    assert training_summary["epochs_run"] < 10
    assert training_summary["best_epoch"] == training_summary["epochs_run"] - 1
    checkpoint = torch.load(base / "checkpoints" / CHECKPOINT_FILE, map_location="cpu", weights_only=True)
    assert_same_weights(weights(base), checkpoint["best_state"])
    assert not all(torch.equal(value, checkpoint["model"][key]) for key, value in checkpoint["best_state"].items())


def _rewrite(split: str, change: Callable[[list[FaceRecord]], list[FaceRecord]]) -> Callable[[Path], None]:
    def apply(dataset: Path) -> None:
        path = dataset / "splits" / f"{split}.jsonl"
        rows = [FaceRecord.model_validate_json(line) for line in path.read_text().splitlines()]
        write_jsonl(path, change(rows))

    return apply


def _delete_first_validation_image(dataset: Path) -> None:
    first = json.loads((dataset / "splits" / "validation.jsonl").read_text().splitlines()[0])
    (dataset / "faces" / first["image"]).unlink()


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (_rewrite("train", lambda rows: []), "the train split is empty"),
        (_rewrite("validation", lambda rows: []), "the validation split is empty"),
        (
            _rewrite("validation", lambda rows: [row for row in rows if row.label == 1]),
            "the validation split holds only FAKE faces: ROC AUC is undefined with one class",
        ),
        (
            _rewrite("train", lambda rows: [row for row in rows if row.label == 0]),
            "the train split holds only REAL faces",
        ),
        (_delete_first_validation_image, "1 of 12 images in validation.jsonl are missing from the faces input"),
        (
            _rewrite("train", lambda rows: [rows[0].model_copy(update={"image": "../outside.jpg"}), *rows[1:]]),
            "train.jsonl: path '../outside.jpg' must be relative and stay inside the dataset root",
        ),
    ],
    ids=["empty-train", "empty-validation", "one-class-validation", "one-class-train", "missing-image", "escape"],
)
def test_bad_input_fails_before_training_and_says_why(
    damage: Callable[[Path], None], problem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_faces(tmp_path / "dataset", {"train": 4, "validation": 4}, faces_per_video=3)
    damage(tmp_path / "dataset")
    base = prepare_job(tmp_path / "job", tmp_path / "dataset", HYPERPARAMETERS)
    code, _ = train_in_process(base, monkeypatch)
    assert code == 1
    assert problem in failure(base)
    assert not (base / "checkpoints" / CHECKPOINT_FILE).exists()


def test_pretrained_weights_come_from_their_channel_and_must_fit_the_architecture(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = prepare_job(tmp_path, dataset, HYPERPARAMETERS)
    pretrained = base / "input" / "data" / "pretrained"
    pretrained.mkdir()
    torch.save(build_network("mobilenet_v3_small").state_dict(), pretrained / "weights.pt")
    code, _ = train_in_process(base, monkeypatch)
    assert code == 1
    assert "weights.pt holds no weights that fit this architecture" in failure(base)


def test_the_warm_up_is_capped_below_epochs_so_any_accepted_epochs_decays_the_rate() -> None:
    assert Params(epochs=1).warmup == 0
    assert Params(epochs=3, warmup_epochs=5).warmup == 2
    assert Params(epochs=10, warmup_epochs=2).warmup == 2
    one_epoch = warmup_cosine(Params(epochs=1).warmup * 4, 4)
    assert one_epoch(0) == 1.0
    assert one_epoch(3) < one_epoch(1) < 1.0


def test_the_fingerprint_ignores_num_workers_but_not_params_data_or_starting_weights(tmp_path: Path) -> None:
    face = LabelledFace(video_id="v", frame_index=0, image="v/0.jpg", box=(0, 0, 1, 1), score=1, label=0, group="")
    rows = FaceTable.from_rows([face], LabelledFace)
    weights_file = tmp_path / "weights.pt"
    weights_file.write_bytes(b"weights")
    base = run_fingerprint(Params(), rows, rows, None)
    assert run_fingerprint(Params(num_workers=3), rows, FaceTable.from_rows([face], LabelledFace), None) == base
    assert run_fingerprint(Params(seed=1), rows, rows, None) != base
    assert run_fingerprint(Params(), rows, FaceTable.from_rows([], LabelledFace), None) != base
    moved = FaceTable.from_rows([face.model_copy(update={"track": 1})], LabelledFace)
    assert run_fingerprint(Params(), rows, moved, None) != base
    assert run_fingerprint(Params(), rows, rows, weights_file) != base


def test_sm_num_gpus_and_hosts_decide_the_world_and_torchrun_is_used_only_outside_it() -> None:
    assert processes_per_host({"SM_NUM_GPUS": "8"}) == 8
    assert processes_per_host({"SM_NUM_GPUS": "0"}) == 1
    assert processes_per_host({}) == max(1, torch.cuda.device_count())
    assert needs_launcher(2 * 8, {})
    assert not needs_launcher(2 * 8, {"LOCAL_RANK": "3"})
    assert not needs_launcher(1, {})


def test_loader_workers_build_batches_on_a_gpu_and_the_process_itself_builds_them_on_the_cpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(16)))
    assert default_workers(Rank(), torch.device("cpu")) == 0
    assert default_workers(Rank(), torch.device("cuda", 0)) == 4
    assert default_workers(Rank(local_world_size=8, world_size=8), torch.device("cuda", 3)) == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0})
    assert default_workers(Rank(), torch.device("cuda", 0)) == 0


def test_the_torchrun_command_is_exact() -> None:
    assert torchrun_command("deepfake.components.train_classifier", ["algo-1", "algo-2"], 1, 8) == [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes=2",
        "--node_rank=1",
        "--nproc_per_node=8",
        "--master_addr=algo-1",
        "--master_port=29500",
        "-m",
        "deepfake.components.train_classifier",
        "train",
    ]
    single_host = torchrun_command("deepfake.components.train_classifier", ["algo-1"], 0, 4, port=29600)
    assert "--master_addr=127.0.0.1" in single_host and "--master_port=29600" in single_host


def test_a_multi_host_job_relaunches_itself_under_torchrun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    launched: list[list[str]] = []

    def fake_run(command: list[str], check: bool) -> subprocess.CompletedProcess[bytes]:
        launched.append(command)
        return subprocess.CompletedProcess(command, returncode=len(launched) - 1)

    monkeypatch.setattr(training.subprocess, "run", fake_run)
    monkeypatch.setenv("SM_NUM_GPUS", "4")
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    context = RunContext(
        inputs={},
        outputs={"model": tmp_path / "model"},
        hosts=("algo-1", "algo-2", "algo-3"),
        current_host="algo-3",
        output_data_dir=tmp_path / "data",
        checkpoint_dir=tmp_path / "checkpoints",
    )
    run(Params(), context)
    assert launched == [torchrun_command("deepfake.components.train_classifier", ["algo-1", "algo-2", "algo-3"], 2, 4)]
    with pytest.raises(RuntimeError, match="torchrun exited with status 1"):
        run(Params(), context)


def test_batches_split_an_epoch_evenly_across_ranks_and_reshuffle_each_epoch() -> None:
    shares = [list(TrainBatches(21, 4, seed=0, rank=Rank(rank, 0, 2, 2))) for rank in range(2)]
    assert [[len(batch) for batch in share] for share in shares] == [[4, 4, 3], [4, 4, 3]]
    indices = [index for share in shares for batch in share for _, index in batch]
    assert len(indices) == 22 and set(indices) == set(range(21))
    single = TrainBatches(9, 4, seed=0, rank=Rank())
    assert [len(batch) for batch in single] == [4, 4]
    first = [index for batch in single for _, index in batch]
    single.set_epoch(2)
    assert [index for batch in single for _, index in batch] != first
    assert all(epoch == 2 for batch in single for epoch, _ in batch)


@pytest.fixture(scope="module")
def sharded(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dataset with its crops packed five to a tar shard, as extract-faces' shard_size packs them."""
    root = tmp_path_factory.mktemp("sharded")
    shutil.copytree(dataset / "faces", root / "faces")
    (root / "splits").mkdir()
    packed: list[LabelledFace] = []
    with ShardWriter(root / "faces", "algo-1", 5) as shards:
        for split in ("train", "validation", "test"):
            rows = [shards.add(face) for face in read_jsonl(dataset / "splits" / f"{split}.jsonl", LabelledFace)]
            write_jsonl(root / "splits" / f"{split}.jsonl", rows)
            packed += rows
    write_jsonl(root / "faces" / "faces.jsonl", packed)
    shutil.copy(dataset / "splits" / "counts.json", root / "splits")
    shutil.rmtree(root / "faces" / "faces")
    return root


def test_uncached_shards_are_read_front_to_back_through_a_shuffle_buffer(sharded: Path) -> None:
    records = training.with_self_blends(FaceTable.read(sharded / "splits" / "train.jsonl"), "both")
    shard_of = [image.partition("#")[0] for image in records.images]
    rows = records.columns["row"]

    def order(buffer: int, epoch: int = 1) -> list[int]:
        return ShardShuffle(records, buffer).order(random.Random(f"seed:{epoch}"))

    stream = order(1)
    assert sorted(stream) == list(range(len(records)))
    runs = [
        shard
        for position, shard in enumerate(shard_of[index] for index in stream)
        if position == 0 or shard != shard_of[stream[position - 1]]
    ]
    assert len(runs) == len(set(shard_of)) == 7, "without a buffer each shard is read in one go"
    assert runs != sorted(runs), "the shards come in a shuffled order"
    for shard in set(shard_of):
        stored = [int(rows[index]) for index in stream if shard_of[index] == shard]
        assert stored == sorted(stored), f"{shard} is read front to back"
    blends = [position for position, index in enumerate(stream) if records.video_id(index).endswith(training.BLENDED)]
    assert blends and all(
        records.images[stream[position]] == records.images[stream[position - 1]] for position in blends
    ), "a self-blended fake is read right after the real crop it is made from"
    buffered = order(8)
    assert sorted(buffered) == list(range(len(records))) and buffered != stream
    position = {index: read for read, index in enumerate(stream)}
    assert all(position[index] <= taken + 8 - 1 for taken, index in enumerate(buffered)), "only what was read"
    assert buffered == order(8) and buffered != order(8, epoch=2), "fixed for a seed, fresh each epoch"


def test_training_on_uncached_shards_reads_them_in_shard_order(sharded: Path, tmp_path: Path) -> None:
    base = prepare_job(tmp_path, sharded, {**HYPERPARAMETERS, "epochs": "1", "cache_mb": "0", "shuffle_buffer": "6"})
    with pytest.MonkeyPatch.context() as patch:
        code, messages = train_in_process(base, patch)
    assert code == 0, failure(base)
    assert any("7 shards read front to back through a buffer of 6 faces" in message for message in messages)
    assert (base / "model" / WEIGHTS_FILE).is_file()


def test_augmentations_depend_only_on_seed_epoch_and_faces_not_on_loader_workers(dataset: Path) -> None:
    records = FaceTable.read(dataset / "splits" / "train.jsonl")
    config = ModelConfig(architecture="resnet18", image_size=FACE_SIZE, version="test")
    images = FaceImages(
        dataset / "faces", records, train_transform(config), FACE_SIZE, 0, None, training.BatchTransform(config, 0.5)
    )
    model_rng = torch.get_rng_state()
    first = images.__getitems__([(1, 0), (1, 1)])[0]
    assert torch.equal(torch.get_rng_state(), model_rng), "building a batch must not draw on the model's RNG"
    assert torch.equal(images.__getitems__([(1, 0), (1, 1)])[0], first)
    assert not torch.equal(images.__getitems__([(2, 0), (2, 1)])[0], first), "fresh augmentations each epoch"
    batches = TrainBatches(len(images), 8, seed=0, rank=Rank())
    cpu = torch.device("cpu")
    in_process = [pixels for pixels, _, _ in training._loader(images, batches, 0, 0, cpu)]
    in_workers = [pixels for pixels, _, _ in training._loader(images, batches, 2, 0, cpu)]
    assert in_process[0].dtype == torch.float32, "batches come augmented and normalised"
    assert all(torch.equal(left, right) for left, right in zip(in_process, in_workers, strict=True))


def test_crops_decoded_once_give_the_same_faces_as_decoding_each_time(dataset: Path) -> None:
    records = FaceTable.read(dataset / "splits" / "train.jsonl")
    root, paths = dataset / "faces", list(records.images)
    crop_bytes = FACE_SIZE * FACE_SIZE * 3
    assert training.decoded_crops(root, paths, crop_bytes * len(paths) - 1) is None, "over the budget: not kept"
    assert training.decoded_crops(root, paths, 0) is None
    cache = training.decoded_crops(root, paths + paths[:3], crop_bytes * len(paths))
    assert cache is not None and cache.pixels.shape == (len(paths), FACE_SIZE, FACE_SIZE, 3), "each crop once"
    config = ModelConfig(architecture="resnet18", image_size=FACE_SIZE, version="test")
    for transform, seed in ((train_transform(config), 0), (eval_transform(config), None)):
        decoding = FaceImages(dataset / "faces", records, transform, FACE_SIZE, seed)
        cached = FaceImages(dataset / "faces", records, transform, FACE_SIZE, seed, cache)
        for key in [(1, 0), (1, 5), (2, 5)]:
            assert torch.equal(decoding[key][0], cached[key][0])
    cache[paths[0]][:] = 0
    assert cache[paths[0]].any(), "a face handed out is a copy: writing to it leaves the cache intact"


def test_crops_of_different_sizes_are_decoded_each_time(dataset: Path, tmp_path: Path) -> None:
    small = tmp_path / "small.jpg"
    Image.new("RGB", (FACE_SIZE // 2, FACE_SIZE // 2), (90, 90, 90)).save(small)
    records = FaceTable.read(dataset / "splits" / "train.jsonl")
    shutil.copy(dataset / "faces" / records.images[0], tmp_path / "large.jpg")
    assert training.decoded_crops(tmp_path, ["large.jpg", "small.jpg"], 2**30) is None


@pytest.mark.slow
def test_two_processes_train_data_parallel_under_torchrun(dataset: Path, tmp_path: Path) -> None:
    """The real relaunch: SM_NUM_GPUS=2 on one host starts two gloo ranks on the CPU; rank 0 writes the model."""
    base = prepare_job(tmp_path, dataset, HYPERPARAMETERS)
    environment = {
        "SAGEMAKER_BASE_DIR": str(base),
        "PATH": os.environ["PATH"],
        "OMP_NUM_THREADS": "1",
        "SM_NUM_GPUS": "2",
        "MASTER_PORT": str(free_port()),
    }
    job = subprocess.run(
        [sys.executable, "-m", "deepfake.components.train_classifier", "train"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    log = job.stdout + job.stderr
    assert job.returncode == 0, log[-3000:]
    assert "relaunching under torchrun" in log and "(2 process(es)," in log
    assert sum(bool(METRIC_LINE.search(line)) for line in log.splitlines()) == EPOCHS  # logged by rank 0 only
    _, config = load_model(base / "model")
    assert config.training["train_faces"] == 32 and config.training["epochs_run"] == EPOCHS


def test_self_blended_fakes_need_no_fake_input_and_are_fresh_each_epoch_but_fixed_for_a_seed(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reals = tmp_path / "reals"
    shutil.copytree(dataset, reals)
    for split in ("train", "validation", "test"):
        rows = read_jsonl(reals / "splits" / f"{split}.jsonl", LabelledFace)
        write_jsonl(reals / "splits" / f"{split}.jsonl", [row for row in rows if row.label == 0])
    samples = training.with_self_blends(FaceTable.read(reals / "splits" / "train.jsonl"), "self_blended")
    assert [row.label for row in samples] == [0] * 16 + [1] * 16
    assert samples[16].image == samples[0].image and samples[16].video_id == f"{samples[0].video_id}{training.BLENDED}"
    config = ModelConfig(architecture="resnet18", image_size=FACE_SIZE, version="v")
    images = FaceImages(reals / "faces", samples, eval_transform(config), FACE_SIZE, seed=3)
    blended, again, later = images[(1, 16)][0], images[(1, 16)][0], images[(2, 16)][0]
    assert torch.equal(blended, again) and not torch.equal(blended, later)
    assert not torch.equal(blended, images[(1, 0)][0]) and images[(1, 16)][1] == 1.0

    base = prepare_job(tmp_path / "job", reals, {**HYPERPARAMETERS, "fake_source": "self_blended"})
    code, _ = train_in_process(base, monkeypatch)
    assert code == 0, failure(base)
    _, trained = load_model(base / "model")
    assert trained.training["train_faces"] == 32 and trained.training["validation_faces"] == 24


def test_the_moving_average_warms_up_and_then_decays_at_the_given_rate() -> None:
    network = torch.nn.Sequential(torch.nn.Linear(1, 1, bias=False), torch.nn.BatchNorm1d(1))
    average = training.moving_average(network, decay=0.2)
    assert average is not None
    expected = 0.0
    for step, value in enumerate([0.0, 1.0, 1.0, 1.0]):
        with torch.no_grad():
            network[0].weight.fill_(value)
        network(torch.randn(4, 1))
        average.update_parameters(network)
        # the first update copies; update t then decays by min(0.2, (1 + t) / (10 + t)): 2/11, then 0.2
        decay = min(0.2, (1 + step) / (10 + step)) if step else 0.0
        expected = decay * expected + (1 - decay) * value
        assert average.module[0].weight.item() == pytest.approx(expected)
    assert average.module[1].num_batches_tracked.item() == 4  # counters follow the network
    assert training.moving_average(network, decay=0) is None
