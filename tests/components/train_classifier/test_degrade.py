"""The batch-level robustness augmentation: seeded, per face, and each operation what it claims to be."""

import cv2
import numpy as np
import pytest
import torch
from torchvision.transforms.v2 import functional as tvf

from deepfake.components.classifier.model import ModelConfig
from deepfake.components.train_classifier.augment import PoseLighting
from deepfake.components.train_classifier.degrade import Degradation, degrade, draw
from deepfake.components.train_classifier.training import BatchTransform, batch_generator

ONLY_BLUR = Degradation(probability=1, scales=(1.0,), noise_std=(0.0, 0.0), jpeg_quality=(100, 100))


def faces(count: int = 8, side: int = 64) -> torch.Tensor:
    """Smooth faces with sharp edges: blur and rescaling visibly change them, JPEG a little."""
    rng = np.random.default_rng(0)
    coarse = torch.from_numpy(rng.integers(0, 256, (count, 3, 8, 8), dtype=np.uint8))
    return tvf.resize(coarse, [side, side], interpolation=tvf.InterpolationMode.NEAREST)


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_the_same_seed_degrades_the_same_faces_the_same_way_and_another_seed_does_not() -> None:
    batch = faces()
    first = degrade(batch, Degradation(), generator(1))
    assert first.dtype == torch.uint8 and first.shape == batch.shape
    assert torch.equal(first, degrade(batch, Degradation(), generator(1)))
    assert not torch.equal(first, degrade(batch, Degradation(), generator(2)))
    assert torch.equal(degrade(batch, Degradation(), generator(1)), first), "the input batch must not be modified"


def test_probability_zero_is_the_identity_and_probability_one_changes_every_face() -> None:
    batch = faces()
    assert torch.equal(degrade(batch, Degradation(probability=0), generator(0)), batch)
    changed = degrade(batch, Degradation(probability=1), generator(0))
    assert all(not torch.equal(changed[index], batch[index]) for index in range(len(batch)))


def test_each_face_draws_its_own_strength() -> None:
    draws = draw(64, 64, Degradation(probability=1), generator(0))
    assert len(draws.sigma.unique()) == 64 and all(
        any(abs(scale - option) < 1e-6 for option in Degradation().scales) for scale in draws.scale.tolist()
    )
    assert len(draws.quality.unique()) > 5 and bool(((draws.quality >= 30) & (draws.quality <= 90)).all())
    half = draw(2000, 64, Degradation(probability=0.5), generator(0))
    assert 0.45 < float((half.sigma > 0).float().mean()) < 0.55


def test_the_batched_blur_is_each_faces_own_gaussian_blur() -> None:
    batch = faces(4)
    blurred = degrade(batch, ONLY_BLUR, generator(3))
    sigmas = draw(4, 64, ONLY_BLUR, generator(3)).sigma
    radius = int(np.ceil(3 * float(sigmas.max())))
    for index, sigma in enumerate(sigmas.tolist()):
        expected = tvf.gaussian_blur(batch[index].float(), [2 * radius + 1] * 2, [sigma, sigma])
        assert (blurred[index].float() - expected.round()).abs().max() <= 1
    assert blurred.float().diff(dim=-1).abs().mean() < batch.float().diff(dim=-1).abs().mean()


def test_blur_strength_scales_with_the_crop_side() -> None:
    small, large = (draw(16, side, ONLY_BLUR, generator(0)).sigma for side in (64, 128))
    assert torch.allclose(large, 2 * small)


def test_jpeg_is_libjpeg_at_the_drawn_quality() -> None:
    only_jpeg = Degradation(probability=1, scales=(1.0,), blur_sigma=(0.0, 0.0), noise_std=(0.0, 0.0))
    batch = faces(6)
    degraded = degrade(batch, only_jpeg, generator(5))
    qualities = draw(6, 64, only_jpeg, generator(5)).quality
    for index, quality in enumerate(qualities.tolist()):
        rgb = batch[index].permute(1, 2, 0).numpy()
        _, encoded = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        expected = cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1]
        assert np.array_equal(degraded[index].permute(1, 2, 0).numpy(), expected)
        assert not np.array_equal(expected, rgb)


def test_rescaling_loses_detail_but_keeps_the_size() -> None:
    only_scale = Degradation(probability=1, scales=(0.35,), blur_sigma=(0.0, 0.0), noise_std=(0.0, 0.0))
    only_scale = Degradation(**{**only_scale.__dict__, "jpeg_quality": (100, 100)})
    batch = faces(2)
    rescaled = degrade(batch, only_scale, generator(0))
    assert rescaled.shape == batch.shape and not torch.equal(rescaled, batch)
    assert rescaled.float().diff(dim=-1).abs().mean() < batch.float().diff(dim=-1).abs().mean()


@pytest.mark.parametrize("probability", [0.0, 0.5])
def test_the_batch_transform_normalises_as_evaluation_does(probability: float) -> None:
    config = ModelConfig(architecture="resnet18", image_size=64, version="v")
    batch = faces(4)
    still = PoseLighting(flip=0, degrees=0, shift=0, zoom=(1, 1), brightness=0, contrast=0, saturation=0)
    out = BatchTransform(config, probability, still)(batch, batch_generator(0, [(1, 0), (1, 1)]))
    assert out.dtype == torch.float32 and out.shape == batch.shape
    if probability == 0:
        mean, std = torch.tensor(config.mean)[:, None, None], torch.tensor(config.std)[:, None, None]
        assert torch.allclose(out, (batch.float() / 255 - mean) / std)


def test_each_batch_gets_its_own_degradation_stream_from_its_epoch_and_faces() -> None:
    batches = [[(1, 0), (1, 1)], [(2, 0), (2, 1)], [(1, 1), (1, 0)], [(1, 0), (1, 2)]]
    draws = [torch.rand(4, generator=batch_generator(0, keys)) for keys in batches]
    assert len({tuple(values.tolist()) for values in draws}) == len(batches)
    assert torch.equal(torch.rand(4, generator=batch_generator(0, batches[0])), draws[0])
    assert not torch.equal(torch.rand(4, generator=batch_generator(1, batches[0])), draws[0])
