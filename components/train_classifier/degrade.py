"""Batch-level robustness augmentation: what sharing does to a face (rescaling, soft focus, sensor noise, lossy
re-encoding), applied to a whole uint8 batch at once (by the loader worker that builds it) rather than face by face.

Each face draws its own parameters; each operation runs on the batch at once (a grouped convolution for the per-face
blur, broadcast noise), on a few buckets of equal scale (rescaling), or face by face in C (JPEG), on the CPU before
the batch moves to the device. Draws come from a generator seeded by the seed and the batch's epoch and faces, so
results do not depend on loader workers, and a resumed run degrades the same faces the same way.
"""

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.nn import functional

SCALES = (0.35, 0.5, 0.65, 0.8)  # of the side; buckets, so that each is one interpolation of its faces
REFERENCE_SIDE = 64  # blur sigmas are given at this crop side and scale with it


@dataclass(frozen=True)
class Degradation:
    """Ranges of the degradations; each face gets each one with `probability`, its strength drawn uniformly."""

    probability: float = 0.5
    scales: tuple[float, ...] = SCALES
    blur_sigma: tuple[float, float] = (0.4, 1.6)
    noise_std: tuple[float, float] = (2.0, 10.0)  # in 8-bit levels
    jpeg_quality: tuple[int, int] = (30, 90)


@dataclass(frozen=True)
class Draws:
    """One batch's parameters, a value a face; 0 (or 1 for scale, 100 for quality) means untouched."""

    scale: torch.Tensor
    sigma: torch.Tensor
    noise: torch.Tensor
    quality: torch.Tensor


def draw(size: int, side: int, settings: Degradation, generator: torch.Generator) -> Draws:
    def chosen() -> torch.Tensor:
        return torch.rand(size, generator=generator) < settings.probability

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(size, generator=generator)

    scales = torch.tensor(settings.scales)[torch.randint(len(settings.scales), (size,), generator=generator)]
    low, high = settings.jpeg_quality
    qualities = torch.randint(low, high + 1, (size,), generator=generator)
    return Draws(
        scale=torch.where(chosen(), scales, torch.ones(size)),
        sigma=torch.where(chosen(), uniform(*settings.blur_sigma) * side / REFERENCE_SIDE, torch.zeros(size)),
        noise=torch.where(chosen(), uniform(*settings.noise_std), torch.zeros(size)),
        quality=torch.where(chosen(), qualities, torch.full((size,), 100)),
    )


def degrade(batch: torch.Tensor, settings: Degradation, generator: torch.Generator) -> torch.Tensor:
    """uint8 (N, 3, H, W) in, uint8 out: rescale, blur, noise, then JPEG last, as a platform re-encodes an upload."""
    draws = draw(batch.shape[0], batch.shape[-1], settings, generator)
    pixels = _rescale(batch.float(), draws.scale)
    pixels = _blur(pixels, draws.sigma)
    pixels += torch.randn(pixels.shape, generator=generator) * draws.noise[:, None, None, None]
    return _jpeg(pixels.round_().clamp_(0, 255).to(torch.uint8), draws.quality)


def _rescale(pixels: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    side = pixels.shape[-2:]
    for scale in scales.unique().tolist():
        if scale == 1:
            continue
        chosen = (scales == scale).nonzero().squeeze(1)
        small = functional.interpolate(pixels[chosen], scale_factor=scale, mode="area")
        pixels[chosen] = functional.interpolate(small, size=side, mode="bilinear", align_corners=False)
    return pixels


def _blur(pixels: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """A separable Gaussian a face, as one grouped convolution over the batch; sigma 0 is the identity."""
    if not bool((sigmas > 0).any()):
        return pixels
    count, channels, height, width = pixels.shape
    radius = max(1, int(np.ceil(3 * float(sigmas.max()))))
    offsets = torch.arange(-radius, radius + 1, device=pixels.device, dtype=pixels.dtype)
    safe = sigmas.clamp(min=1e-3)[:, None]
    kernels = torch.exp(-(offsets[None] ** 2) / (2 * safe**2))
    kernels = torch.where((sigmas > 0)[:, None], kernels, (offsets == 0).to(pixels.dtype)[None])
    kernels = (kernels / kernels.sum(dim=1, keepdim=True)).repeat_interleave(channels, dim=0)
    grouped = functional.pad(pixels.reshape(1, count * channels, height, width), [radius] * 4, mode="reflect")
    grouped = functional.conv2d(grouped, kernels[:, None, :, None], groups=count * channels)
    grouped = functional.conv2d(grouped, kernels[:, None, None, :], groups=count * channels)
    return grouped.reshape(count, channels, height, width)


def _jpeg(batch: torch.Tensor, qualities: torch.Tensor) -> torch.Tensor:
    """OpenCV's codec (libjpeg-turbo) face by face, at each face's quality; in BGR order, as OpenCV assumes."""
    out = batch.clone()
    for index in (qualities < 100).nonzero().squeeze(1).tolist():
        bgr = np.ascontiguousarray(batch[index].permute(1, 2, 0).numpy()[..., ::-1])
        _, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(qualities[index])])
        decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
        assert decoded is not None, "OpenCV failed to decode the JPEG it just encoded"
        out[index] = torch.from_numpy(decoded[..., ::-1].copy()).permute(2, 0, 1)
    return out
