"""Model definition, its JSON config, and the one way a model folder is written and read.

A model folder (what SageMaker tars to model.tar.gz) holds `model.pt` (a state_dict, loadable with
`weights_only=True`, so never pickle for code) and `model.json` (a ModelConfig: everything needed to score faces the
way training saw them).
"""

from pathlib import Path
from typing import Literal

import torch
import torchvision
from pydantic import BaseModel, ConfigDict, Field
from torch import nn
from torchvision import models

from deepfake.components.artifacts import ArtifactType
from deepfake.components.contract import MODEL_ARCHIVE

WEIGHTS_FILE = "model.pt"
CONFIG_FILE = "model.json"
Architecture = Literal["efficientnet_b0", "resnet18", "resnet50", "mobilenet_v3_small", "mobilenet_v3_large"]
Aggregation = Literal["mean", "median", "max", "top_quartile_mean"]
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

MODEL_ARTIFACT = ArtifactType(
    name="ModelArtifact",
    description=f"{WEIGHTS_FILE} (state_dict) and {CONFIG_FILE} (ModelConfig); travels as {MODEL_ARCHIVE}",
    required_files=(WEIGHTS_FILE, CONFIG_FILE),
    archive=MODEL_ARCHIVE,
)


class ModelConfig(BaseModel):
    """How to rebuild the network and score with it; written next to the weights."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    architecture: Architecture
    image_size: int = Field(ge=32, le=1024, description="Side of the square input, in pixels.")
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    threshold: float = Field(0.5, gt=0, lt=1, description="probability_fake at or above this is FAKE.")
    temperature: float = Field(
        1.0, gt=0, description="Logits are divided by this before the sigmoid: calibrated on the validation split."
    )
    aggregation: Aggregation = Field("mean", description="How a video's frame probabilities become one.")
    test_time_flip: bool = Field(
        False, description="Score a face by the mean of its logit and its mirror image's (False for older models)."
    )
    labels: dict[int, str] = {0: "REAL", 1: "FAKE"}
    version: str = Field(description="Model version: the training component version and the run that made it.")
    torch_version: str = torch.__version__
    torchvision_version: str = torchvision.__version__
    training: dict[str, float | int | str] = Field(default_factory=dict, description="Epochs, best epoch, losses.")


def build_network(architecture: Architecture) -> nn.Module:
    """A torchvision backbone with a single-logit head (logit of FAKE); never downloads weights."""
    network = getattr(models, architecture)(weights=None)
    if architecture.startswith("resnet"):
        network.fc = nn.Linear(network.fc.in_features, 1)
    else:
        head = network.classifier
        head[-1] = nn.Linear(head[-1].in_features, 1)
    return network


def load_pretrained(network: nn.Module, path: Path) -> None:
    """Backbone weights from a local file (a state_dict); the head is re-initialised when its shape differs."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    own = network.state_dict()
    compatible = {key: value for key, value in state.items() if key in own and own[key].shape == value.shape}
    if not compatible:
        raise ValueError(f"{path} holds no weights that fit this architecture; check the file and the architecture")
    network.load_state_dict(compatible, strict=False)


def save_model(folder: Path, network: nn.Module, config: ModelConfig) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({key: value.detach().cpu() for key, value in network.state_dict().items()}, folder / WEIGHTS_FILE)
    (folder / CONFIG_FILE).write_text(config.model_dump_json(indent=2))


def load_model(folder: Path) -> tuple[nn.Module, ModelConfig]:
    """The network in eval mode on the CPU, with its config."""
    config = ModelConfig.model_validate_json((folder / CONFIG_FILE).read_text())
    network = build_network(config.architecture)
    network.load_state_dict(torch.load(folder / WEIGHTS_FILE, map_location="cpu", weights_only=True))
    return network.eval(), config
