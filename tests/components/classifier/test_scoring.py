"""Test-time flip: a face scores the mean of its logit and its mirror image's, as the model config says."""

import numpy as np
import torch
from torch import nn

from deepfake.components.classifier.model import ModelConfig
from deepfake.components.classifier.scoring import predict_probabilities


def linear_network() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 2 * 4, 1)).eval()


def by_hand(network: nn.Module, faces: np.ndarray, temperature: float) -> np.ndarray:
    weights = network[1].weight.detach().numpy().reshape(3, 2, 4)
    bias = float(network[1].bias.detach())
    logits = np.array([(weights * face).sum() + bias for face in faces])
    mirrored = np.array([(weights * face[:, :, ::-1]).sum() + bias for face in faces])
    return 1 / (1 + np.exp(-((logits + mirrored) / 2) / temperature))


def test_a_face_scores_the_mean_logit_of_itself_and_its_mirror_divided_by_the_temperature() -> None:
    network = linear_network()
    faces = np.random.default_rng(1).normal(size=(5, 3, 2, 4)).astype(np.float32)
    config = ModelConfig(architecture="resnet18", image_size=32, version="t", temperature=2.0, test_time_flip=True)
    scored = predict_probabilities(network, torch.from_numpy(faces), config)
    assert np.allclose(scored, by_hand(network, faces, 2.0), atol=1e-6)
    plain = predict_probabilities(network, torch.from_numpy(faces), config.model_copy(update={"test_time_flip": False}))
    assert not np.allclose(plain, scored), "these faces are not mirror-symmetric: one view scores otherwise"


def test_a_model_config_written_before_the_flip_scores_one_view() -> None:
    older = {"architecture": "resnet18", "image_size": 64, "version": "train-classifier-1.7.2-abc"}
    assert ModelConfig.model_validate(older).test_time_flip is False
