"""The batch-level robustness augmentation: seeded, per face, and each operation what it claims to be."""

import cv2
import numpy as np
import pytest
import torch
from torchvision.transforms.v2 import functional as tvf

from deepfake.components.classifier.model import ModelConfig
from deepfake.components.train_classifier.augment import PoseLighting
from deepfake.components.train_classifier.degrade import Degradation, degrade_face, draw
from deepfake.components.train_classifier.training import BatchTransform, batch_generator

ONLY_BLUR = Degradation(probability=1, scales=(1.0,), noise_std=(0.0, 0.0), jpeg_quality=(100, 100))


def faces(count: int = 8, side: int = 64) -> np.ndarray:
    """Smooth uint8 HWC faces with sharp edges: blur and rescaling visibly change them, JPEG a little."""
    rng = np.random.default_rng(0)
    coarse = torch.from_numpy(rng.integers(0, 256, (count, 3, 8, 8), dtype=np.uint8))
    return tvf.resize(coarse, [side, side], interpolation=tvf.InterpolationMode.NEAREST).permute(0, 2, 3, 1).numpy()


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def degrade(batch: np.ndarray, settings: Degradation, seed: int) -> np.ndarray:
    """The faces degraded as BatchTransform degrades them: every draw first, then face by face."""
    drawing = generator(seed)
    draws = draw(len(batch), batch.shape[2], settings, drawing).per_face()
    return np.stack([degrade_face(face, *values, drawing) for face, values in zip(batch, draws, strict=True)])


def sharpness(batch: np.ndarray) -> float:
    return float(np.abs(np.diff(batch.astype(np.float32), axis=2)).mean())


def test_the_same_seed_degrades_the_same_faces_the_same_way_and_another_seed_does_not() -> None:
    batch = faces()
    kept = batch.copy()
    first = degrade(batch, Degradation(), 1)
    assert first.dtype == np.uint8 and first.shape == batch.shape
    assert np.array_equal(first, degrade(batch, Degradation(), 1))
    assert not np.array_equal(first, degrade(batch, Degradation(), 2))
    assert np.array_equal(batch, kept), "the input faces must not be modified"


def test_probability_zero_is_the_identity_and_probability_one_changes_every_face() -> None:
    batch = faces()
    assert np.array_equal(degrade(batch, Degradation(probability=0), 0), batch)
    changed = degrade(batch, Degradation(probability=1), 0)
    assert all(not np.array_equal(changed[index], batch[index]) for index in range(len(batch)))


def test_each_face_draws_its_own_strength() -> None:
    draws = draw(64, 64, Degradation(probability=1), generator(0))
    assert len(draws.sigma.unique()) == 64 and all(
        any(abs(scale - option) < 1e-6 for option in Degradation().scales) for scale in draws.scale.tolist()
    )
    assert len(draws.quality.unique()) > 5 and bool(((draws.quality >= 30) & (draws.quality <= 90)).all())
    half = draw(2000, 64, Degradation(probability=0.5), generator(0))
    assert 0.45 < float((half.sigma > 0).float().mean()) < 0.55


@pytest.mark.parametrize("side", [64, 224])
def test_the_blur_is_each_faces_own_gaussian_blur(side: int) -> None:
    batch = faces(4, side)
    blurred = degrade(batch, ONLY_BLUR, 3)
    sigmas = draw(4, side, ONLY_BLUR, generator(3)).sigma
    for index, sigma in enumerate(sigmas.tolist()):
        size = 2 * int(np.ceil(3 * sigma)) + 1
        expected = tvf.gaussian_blur(torch.from_numpy(batch[index]).permute(2, 0, 1).float(), [size] * 2, [sigma] * 2)
        assert np.abs(blurred[index].astype(np.float32) - expected.round().permute(1, 2, 0).numpy()).max() <= 1
    assert sharpness(blurred) < sharpness(batch)


def test_blur_strength_scales_with_the_crop_side() -> None:
    small, large = (draw(16, side, ONLY_BLUR, generator(0)).sigma for side in (64, 128))
    assert torch.allclose(large, 2 * small)


def test_jpeg_is_libjpeg_at_the_drawn_quality() -> None:
    only_jpeg = Degradation(probability=1, scales=(1.0,), blur_sigma=(0.0, 0.0), noise_std=(0.0, 0.0))
    batch = faces(6)
    degraded = degrade(batch, only_jpeg, 5)
    qualities = draw(6, 64, only_jpeg, generator(5)).quality
    for index, quality in enumerate(qualities.tolist()):
        _, encoded = cv2.imencode(".jpg", batch[index][..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        expected = cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1]
        assert np.array_equal(degraded[index], expected)
        assert not np.array_equal(expected, batch[index])


def test_rescaling_loses_detail_but_keeps_the_size() -> None:
    only_scale = Degradation(
        probability=1, scales=(0.35,), blur_sigma=(0.0, 0.0), noise_std=(0.0, 0.0), jpeg_quality=(100, 100)
    )
    batch = faces(2)
    rescaled = degrade(batch, only_scale, 0)
    assert rescaled.shape == batch.shape and not np.array_equal(rescaled, batch)
    assert sharpness(rescaled) < sharpness(batch)


def test_noise_has_the_drawn_strength() -> None:
    only_noise = Degradation(
        probability=1, scales=(1.0,), blur_sigma=(0.0, 0.0), noise_std=(4.0, 8.0), jpeg_quality=(100, 100)
    )
    batch = np.full((8, 64, 64, 3), 128, np.uint8)
    noisy = degrade(batch, only_noise, 7).astype(np.float32) - 128
    stds = draw(8, 64, only_noise, generator(7)).noise
    for index, std in enumerate(stds.tolist()):
        assert abs(float(noisy[index].std()) - std) < 0.1 * std


@pytest.mark.parametrize("probability", [0.0, 0.5])
def test_the_batch_transform_normalises_as_evaluation_does(probability: float) -> None:
    config = ModelConfig(architecture="resnet18", image_size=64, version="v")
    batch = torch.from_numpy(faces(4)).permute(0, 3, 1, 2)
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
