"""Where a component finds its inputs, params and outputs: the SageMaker container conventions.

The runtime (inside the container), the local runner (which lays the folders out) and the SageMaker compiler (which
names the container paths) all read this one module, so the three can never disagree.
"""

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

DEFAULT_BASE_DIR = Path("/opt/ml")
BASE_DIR_ENV = "SAGEMAKER_BASE_DIR"
MODEL_OUTPUT = "model"
MODEL_ARCHIVE = "model.tar.gz"
TRAIN_COMMAND = "train"  # SageMaker starts a training container as `<entrypoint> train`
FAILURE_REASON_BYTES = 1024


class ComponentKind(StrEnum):
    PROCESSING = "processing"
    TRAINING = "training"


@dataclass(frozen=True)
class ContainerLayout:
    """The folder layout of one component kind under a base dir (`/opt/ml` on SageMaker)."""

    kind: ComponentKind
    base: Path = DEFAULT_BASE_DIR

    def input_dir(self, name: str) -> Path:
        if self.kind is ComponentKind.TRAINING:
            return self.base / "input" / "data" / name
        return self.base / "processing" / "input" / name

    def output_dir(self, name: str) -> Path:
        if self.kind is ComponentKind.TRAINING:
            if name != MODEL_OUTPUT:
                raise ValueError(f"a training component has one output, '{MODEL_OUTPUT}'; got '{name}'")
            return self.base / "model"
        return self.base / "processing" / "output" / name

    @property
    def failure_file(self) -> Path:
        name = "failure" if self.kind is ComponentKind.TRAINING else "message"
        return self.base / "output" / name

    @property
    def hyperparameters_file(self) -> Path:
        return self.base / "input" / "config" / "hyperparameters.json"

    @property
    def resource_config_file(self) -> Path:
        if self.kind is ComponentKind.TRAINING:
            return self.base / "input" / "config" / "resourceconfig.json"
        return self.base / "config" / "resourceconfig.json"

    @property
    def output_data_dir(self) -> Path:
        return self.base / "output" / "data"

    @property
    def checkpoint_dir(self) -> Path:
        return self.base / "checkpoints"


def entry_arguments(kind: ComponentKind) -> list[str]:
    """What every runner appends to a component's entrypoint before its params: `train` for training."""
    return [TRAIN_COMMAND] if kind is ComponentKind.TRAINING else []


def cli_flag(param: str) -> str:
    """Processing params travel as container arguments: `face_size` → `--face-size`."""
    return "--" + param.replace("_", "-")


def truncate_reason(reason: str) -> str:
    """SageMaker shows the first 1 KB of the failure file; cut on a character boundary."""
    return reason.encode()[:FAILURE_REASON_BYTES].decode(errors="ignore")
