"""train-classifier: fine-tunes the detector on the train split's face crops, early-stopped on the validation split.

It uses what the machine has: AMP and channels_last on a GPU, one DistributedDataParallel process a GPU across every
SageMaker host (it relaunches itself under torchrun), plain fp32 in one process on a CPU. A checkpoint each epoch in
/opt/ml/checkpoints lets a restarted (spot) job continue the same run and end with the same weights.
"""

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from deepfake.components import ArtifactType, Component, ComponentKind, InputSpec, OutputSpec, RunContext
from deepfake.components.classifier.model import MODEL_ARTIFACT, ModelConfig, save_model
from deepfake.components.classifier.scoring import video_probabilities
from deepfake.components.face_table import FaceTable, SplitFaces
from deepfake.components.manifests import DATASET_SPLITS, FACE_DATASET, LabelledFace
from deepfake.components.train_classifier.calibration import THRESHOLD_RULE, choose_threshold, fit_temperature
from deepfake.components.train_classifier.params import FakeSource, Params
from deepfake.components.train_classifier.training import (
    BLENDED,
    METRICS,
    TrainingData,
    barrier,
    check_split,
    fit,
    join_process_group,
    leave_process_group,
    needs_launcher,
    processes_per_host,
    relaunch,
    subsample,
    with_self_blends,
)

log = logging.getLogger(__name__)
NAME = "train-classifier"
VERSION = "1.9.0"
ENTRY_MODULE = "deepfake.components.train_classifier"
PRETRAINED_FILE = "weights.pt"
FINGERPRINT_CHARS = 12
HASH_CHUNK_BYTES = 1 << 20

PRETRAINED_WEIGHTS = ArtifactType(
    name="PretrainedWeights",
    description=(
        f"{PRETRAINED_FILE}: a state_dict for the architecture (e.g. torchvision's ImageNet weights saved with "
        "torch.save(model.state_dict())), loadable with weights_only=True; a head of another shape is re-initialised"
    ),
    required_files=(PRETRAINED_FILE,),
)


def run_fingerprint(params: Params, train: SplitFaces, validation: SplitFaces, pretrained: Path | None) -> str:
    """Names one training run: its params (but num_workers, which does not change the result), its split rows (their
    columns, hashed as stored) and its starting weights. Crop bytes are not read; the pipeline's step cache already
    keys on input content.
    """
    digest = hashlib.sha256(params.model_dump_json(exclude={"num_workers"}).encode())
    for name, records in (("train", train), ("validation", validation)):
        digest.update(f"\n{name}\n".encode())
        digest.update(json.dumps(records.videos).encode())
        for column in records.columns.values():
            digest.update(np.ascontiguousarray(column).tobytes())
        digest.update(records.images.buffer)
    if pretrained is not None:
        digest.update(b"\npretrained\n")
        with pretrained.open("rb") as handle:
            while chunk := handle.read(HASH_CHUNK_BYTES):
                digest.update(chunk)
    return digest.hexdigest()[:FINGERPRINT_CHARS]


def run(params: Params, ctx: RunContext) -> None:
    if ctx.checkpoint_dir is None or ctx.output_data_dir is None:
        raise ValueError(f"{NAME} is a training component: run it with components.runtime.main, which sets its folders")
    processes = processes_per_host(os.environ)
    if needs_launcher(ctx.num_hosts * processes, os.environ):
        relaunch(ENTRY_MODULE, ctx.hosts, ctx.host_index, processes)
        return
    faces, splits = ctx.inputs["faces"], ctx.inputs["splits"]
    train = subsample(FaceTable.read(splits / "train.jsonl"), params.max_train_faces, params.seed)
    train = with_self_blends(train, params.fake_source)
    validation = with_self_blends(FaceTable.read(splits / "validation.jsonl"), params.fake_source)
    check_split("train", train, faces)
    check_split("validation", validation, faces)
    pretrained = ctx.inputs["pretrained"] / PRETRAINED_FILE if "pretrained" in ctx.inputs else None
    fingerprint = run_fingerprint(params, train, validation, pretrained)
    config = ModelConfig(
        architecture=params.architecture,
        image_size=params.image_size,
        aggregation=params.aggregation,
        test_time_flip=params.test_time_flip,
        version=f"{NAME}-{VERSION}-{fingerprint}",
    )
    rank = join_process_group(os.environ)
    try:
        data = TrainingData(faces, train, validation)
        result = fit(params, config, data, pretrained, ctx.checkpoint_dir, ctx.output_data_dir, fingerprint, rank)
        if rank.local_rank == 0:
            own = calibration_faces(validation, params.fake_source)  # the dataset's own videos come first
            calibrated = calibrate(config, own, result.validation_logits[: len(own)], params.threshold)
            save_model(
                ctx.outputs["model"],
                result.network,
                calibrated.model_copy(update={"training": {**result.summary, **calibrated.training}}),
            )
            log.info(
                "model %s written to %s (temperature %g, threshold %g)",
                config.version,
                ctx.outputs["model"],
                calibrated.temperature,
                calibrated.threshold,
            )
        barrier(rank)
    finally:
        leave_process_group()


def calibration_faces(validation: SplitFaces, fake_source: FakeSource) -> SplitFaces:
    """What the threshold is fitted on: with `both`, the dataset's own validation videos when they hold both classes,
    since test and production videos are the dataset's kind, not self-blends; otherwise all of validation."""
    own = validation.take([index for index, video in enumerate(validation.video_ids()) if not video.endswith(BLENDED)])
    if fake_source == "both" and set(own.labels.tolist()) == {0, 1}:
        return own
    return validation


def calibrate(
    config: ModelConfig, validation: Sequence[LabelledFace], logits: Sequence[float], threshold: float | None
) -> ModelConfig:
    """The temperature and (unless `threshold` is given) the threshold, both from the validation split."""
    labels = [record.label for record in validation]
    temperature = fit_temperature(logits, labels)
    probabilities = 1 / (1 + np.exp(-np.asarray(logits, dtype=np.float64) / temperature))
    videos = video_probabilities(validation, probabilities, config.aggregation)
    video_labels = {record.video_id: record.label for record in validation}
    chosen, balanced = choose_threshold(
        [video_labels[video] for video in videos], [probability for probability, _ in videos.values()]
    )
    summary: dict[str, float | int | str] = {
        "temperature": temperature,
        "threshold_rule": THRESHOLD_RULE if threshold is None else "given by the threshold param",
        "validation_balanced_accuracy_at_chosen": round(balanced, 6),
    }
    return config.model_copy(
        update={
            "temperature": temperature,
            "threshold": chosen if threshold is None else threshold,
            "training": summary,
        }
    )


COMPONENT = Component(
    name=NAME,
    version=VERSION,
    kind=ComponentKind.TRAINING,
    image="deepfake/train-classifier",
    description=__doc__.splitlines()[0],
    params=Params,
    run=run,
    entry_module=ENTRY_MODULE,
    inputs={
        "faces": InputSpec(
            type=FACE_DATASET, description="The crops the splits point at (loose or in shards).", streamed=True
        ),
        "splits": InputSpec(
            type=DATASET_SPLITS, description="train.jsonl trains, validation.jsonl early-stops; test is not read."
        ),
        "pretrained": InputSpec(
            type=PRETRAINED_WEIGHTS, optional=True, description="Starting weights; without it, random initialisation."
        ),
    },
    outputs={"model": OutputSpec(type=MODEL_ARTIFACT, description="model.pt and model.json (ModelConfig).")},
    metrics=METRICS,
)
