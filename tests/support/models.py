"""Models the tests build in a second: one whose FAKE probability is a face's brightness, and one that is broken."""

from pathlib import Path

import torch
from torch import nn

from deepfake.components.artifacts import pack_archive
from deepfake.components.classifier.model import CONFIG_FILE, WEIGHTS_FILE, ModelConfig, build_network

DARK, BRIGHT = 40, 220  # grey levels the brightness model scores about 0.15 and 0.99


def brightness_network() -> nn.Module:
    """resnet18 whose FAKE logit rises with a face's brightness: zero weights but one channel carried to the head.

    Zero weights also make the packed model compress to almost nothing, so every test can copy it cheaply.
    """
    network = build_network("resnet18")
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.zero_()
        network.conv1.weight[0] = 1 / network.conv1.weight[0].numel()
        network.bn1.weight[0], network.bn1.bias[0] = 1.0, 3.0
        for layer in (network.layer2, network.layer3, network.layer4):
            layer[0].downsample[0].weight[0, 0] = 1.0
            layer[0].downsample[1].weight[0] = 1.0
        network.fc.weight[0, 0], network.fc.bias[0] = 4.0, -12.0
    return network


def broken_model_archive(folder: Path, archive: Path) -> None:
    """A model.tar.gz whose model.json is valid but whose weights are not a state dict."""
    folder.mkdir()
    (folder / CONFIG_FILE).write_text(
        ModelConfig(architecture="resnet18", image_size=32, version="v").model_dump_json()
    )
    (folder / WEIGHTS_FILE).write_bytes(b"not a state dict")
    pack_archive(folder, archive)
