"""train-classifier's params: read by the component and by the training loop, which imports nothing else of it."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from deepfake.components.classifier.model import Aggregation, Architecture

FakeSource = Literal["dataset", "self_blended", "both"]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    architecture: Architecture = Field("efficientnet_b0", description="torchvision backbone with a one-logit head.")
    image_size: int = Field(224, ge=32, le=1024, description="Side of the square network input; crops are resized.")
    epochs: int = Field(10, ge=1, le=1000, description="Most epochs to train; early stopping may end sooner.")
    batch_size: int = Field(32, ge=2, le=4096, description="Faces a step in each process (BatchNorm needs at least 2).")
    learning_rate: float = Field(1e-3, gt=0, le=1, description="Peak AdamW learning rate, reached after warm-up.")
    weight_decay: float = Field(1e-4, ge=0, le=1, description="AdamW decoupled weight decay.")
    warmup_epochs: int = Field(
        1, ge=0, le=100, description="Epochs of linear warm-up before the cosine decay; at most epochs - 1."
    )
    early_stopping_patience: int = Field(
        3, ge=1, le=1000, description="Stop after this many epochs without a lower validation loss."
    )
    seed: int = Field(
        0, ge=0, le=2**32 - 1, description="Seeds initialisation, shuffling and augmentation: same seed, same weights."
    )
    threshold: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="probability_fake at or above this is FAKE (model config); default: chosen on the validation"
        " videos (best balanced accuracy), after the temperature is fitted there.",
    )
    aggregation: Aggregation = Field(
        "mean", description="How a video's face probabilities become one (model config and val_auc)."
    )
    test_time_flip: bool = Field(
        True,
        description="Score each face with its mirror image too, the mean logit (model config; validation, calibration,"
        " evaluation, batch scoring and serving all do). On five demo seeds: worst test AUC 0.951 instead of 0.941,"
        " mean accuracy 0.950 instead of 0.938.",
    )
    num_workers: int | None = Field(
        None,
        ge=0,
        le=64,
        description="DataLoader workers a training process; default: on a GPU min(4, cores - 1), on the CPU 0 (the"
        " batch is built in the process itself, which on the CPU is faster than a worker taking cores from the step).",
    )
    fake_source: FakeSource = Field(
        "both",
        description="Fakes to learn from: the dataset's (dataset), a self-blended fake made on the fly from every real"
        " face, fresh each epoch (self_blended: no fake video needed), or both (the default: the blends teach the"
        " artifacts every swap leaves, the dataset's fakes its own). Validation uses the same source.",
    )
    robustness: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Chance that a training face gets each degradation shared video goes through (downscale, blur,"
        " noise, JPEG re-compression), drawn per face on whole batches; 0 turns them off.",
    )
    ema_decay: float = Field(
        0.99,
        ge=0,
        lt=1,
        description="Validate and keep an exponential moving average of the weights, updated every step with this"
        " decay (0.99: about the last 100 steps); 0 keeps the raw weights.",
    )
    cache_mb: int = Field(
        2048,
        ge=0,
        description="Decode the train and validation crops once and keep them in memory when they fit in this many"
        " MiB (a process; at 64 px about 12 KiB a crop); otherwise, or with 0, each epoch decodes them again.",
    )
    shuffle_buffer: int = Field(
        10_000,
        ge=1,
        le=10_000_000,
        description="When the crops are in tar shards and not cached (over cache_mb), each epoch reads the shards in a"
        " fresh order, each front to back, through a shuffle buffer of this many faces (WebDataset's order).",
    )
    max_train_faces: int | None = Field(
        None, ge=2, description="Train on a seeded subset of at most this many faces (quick runs); default: all."
    )

    @property
    def warmup(self) -> int:
        """Warm-up epochs as trained: capped below `epochs`, so any accepted `epochs` leaves the rate room to decay."""
        return min(self.warmup_epochs, self.epochs - 1)
