"""Scoring as evaluation and serving share it: the test-time flip, and which tracks are people."""

import numpy as np
import pytest
import torch
from torch import nn

from deepfake.components.classifier.model import ModelConfig
from deepfake.components.classifier.scoring import predict_probabilities, score_people
from deepfake.components.serve.schema import FrameScore


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


def frames(track: int, probability: float, indices: range | tuple[int, ...]) -> list[FrameScore]:
    return [FrameScore(frame_index=index, probability_fake=probability, track=track) for index in indices]


def test_a_track_seen_in_fewer_than_a_quarter_of_the_frames_of_the_most_seen_is_no_person() -> None:
    """A detection found once among ten frames (a false face, say) does not decide the video."""
    person = frames(0, 0.1, range(10))
    probability, people = score_people(person + frames(1, 0.99, (0,)), "mean", 0.5)
    assert probability == pytest.approx(0.1) and [track.track for track in people] == [0]
    probability, people = score_people(person + frames(1, 0.9, (3, 4, 5)), "mean", 0.5)
    assert probability == pytest.approx(0.9) and [track.track for track in people] == [1, 0], "3 of 10: a person"


def test_in_one_frame_every_face_is_a_person() -> None:
    probability, people = score_people(frames(0, 0.2, (0,)) + frames(1, 0.7, (0,)), "mean", 0.5)
    assert probability == pytest.approx(0.7) and len(people) == 2
