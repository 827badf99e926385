"""train-classifier: fine-tunes the detector on the train split's face crops, early-stopped on the validation split.

It uses what the machine has: AMP and channels_last on a GPU, one DistributedDataParallel process a GPU across every
SageMaker host (it relaunches itself under torchrun), plain fp32 in one process on a CPU. A checkpoint each epoch in
/opt/ml/checkpoints lets a restarted (spot) job continue the same run and end with the same weights.
"""

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from components import ArtifactType, Component, ComponentKind, InputSpec, OutputSpec, RunContext
from components.classifier.model import MODEL_ARTIFACT, Aggregation, Architecture, ModelConfig, save_model
from components.manifests import DATASET_SPLITS, FACE_DATASET, FaceRecord, read_jsonl
from components.train_classifier.training import (
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
)

log = logging.getLogger(__name__)
NAME = "train-classifier"
VERSION = "1.0.0"
ENTRY_MODULE = "components.train_classifier"
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


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    architecture: Architecture = Field("efficientnet_b0", description="torchvision backbone with a one-logit head.")
    image_size: int = Field(224, ge=32, le=1024, description="Side of the square network input; crops are resized.")
    epochs: int = Field(10, ge=1, le=1000, description="Most epochs to train; early stopping may end sooner.")
    batch_size: int = Field(32, ge=2, le=4096, description="Faces a step in each process (BatchNorm needs at least 2).")
    learning_rate: float = Field(1e-3, gt=0, le=1, description="Peak AdamW learning rate, reached after warm-up.")
    weight_decay: float = Field(1e-4, ge=0, le=1, description="AdamW decoupled weight decay.")
    warmup_epochs: int = Field(
        1, ge=0, le=100, description="Epochs of linear warm-up before the cosine decay; fewer than epochs."
    )
    early_stopping_patience: int = Field(
        3, ge=1, le=1000, description="Stop after this many epochs without a lower validation loss."
    )
    seed: int = Field(
        0, ge=0, le=2**32 - 1, description="Seeds initialisation, shuffling and augmentation: same seed, same weights."
    )
    threshold: float = Field(0.5, gt=0, lt=1, description="probability_fake at or above this is FAKE (model config).")
    aggregation: Aggregation = Field(
        "mean", description="How a video's face probabilities become one (model config and val_auc)."
    )
    num_workers: int | None = Field(
        None,
        ge=0,
        le=64,
        description="DataLoader workers a training process; default min(4, cores - 1); 0 loads in the process itself.",
    )
    max_train_faces: int | None = Field(
        None, ge=2, description="Train on a seeded subset of at most this many faces (quick runs); default: all."
    )

    @model_validator(mode="after")
    def _warmup_shorter_than_training(self) -> "Params":
        if self.warmup_epochs >= self.epochs:
            raise ValueError(
                f"warmup_epochs ({self.warmup_epochs}) must be less than epochs ({self.epochs}) so the learning rate "
                "can decay: lower warmup_epochs (0 disables the warm-up) or raise epochs"
            )
        return self


def run_fingerprint(
    params: Params, train: Sequence[FaceRecord], validation: Sequence[FaceRecord], pretrained: Path | None
) -> str:
    """Names one training run: its params (but num_workers, which does not change the result), its split rows and
    its starting weights. Crop bytes are not read; the pipeline's step cache already keys on input content.
    """
    digest = hashlib.sha256(params.model_dump_json(exclude={"num_workers"}).encode())
    for name, records in (("train", train), ("validation", validation)):
        digest.update(f"\n{name}\n".encode())
        for record in records:
            digest.update(record.model_dump_json().encode() + b"\n")
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
    train = subsample(read_jsonl(splits / "train.jsonl", FaceRecord), params.max_train_faces, params.seed)
    validation = read_jsonl(splits / "validation.jsonl", FaceRecord)
    check_split("train", train, faces)
    check_split("validation", validation, faces)
    pretrained = ctx.inputs["pretrained"] / PRETRAINED_FILE if "pretrained" in ctx.inputs else None
    fingerprint = run_fingerprint(params, train, validation, pretrained)
    config = ModelConfig(
        architecture=params.architecture,
        image_size=params.image_size,
        threshold=params.threshold,
        aggregation=params.aggregation,
        version=f"{NAME}-{VERSION}-{fingerprint}",
    )
    rank = join_process_group(os.environ)
    try:
        data = TrainingData(faces, train, validation)
        result = fit(params, config, data, pretrained, ctx.checkpoint_dir, ctx.output_data_dir, fingerprint, rank)
        if rank.local_rank == 0:
            save_model(ctx.outputs["model"], result.network, config.model_copy(update={"training": result.summary}))
            log.info("model %s written to %s", config.version, ctx.outputs["model"])
        barrier(rank)
    finally:
        leave_process_group()


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
        "faces": InputSpec(type=FACE_DATASET, description="The crops the splits point at."),
        "splits": InputSpec(
            type=DATASET_SPLITS, description="train.jsonl trains, validation.jsonl early-stops; test is not read."
        ),
        "pretrained": InputSpec(
            type=PRETRAINED_WEIGHTS, optional=True, description="Starting weights; without it, random initialisation."
        ),
    },
    outputs={"model": OutputSpec(type=MODEL_ARTIFACT, description="model.pt and model.json (ModelConfig).")},
)
