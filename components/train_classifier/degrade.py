"""Robustness augmentation: what sharing does to a face (rescaling, soft focus, sensor noise, lossy re-encoding).

Each face draws its own parameters, all of a batch's at once, from a generator seeded by the seed and the batch's
epoch and faces, so results do not depend on loader workers, and a resumed run degrades the same faces the same way.
The pixels are then changed face by face with OpenCV (and the noise drawn from the same generator), only where a
degradation was drawn: at 224 px ~1.2 ms a face (one core) against ~4.6 ms for the same operations as batched
torch convolutions and interpolations over every face.
"""

from dataclasses import dataclass

import cv2
import numpy as np
import torch

SCALES = (0.35, 0.5, 0.65, 0.8)  # of the side
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

    def per_face(self) -> list[tuple[float, float, float, int]]:
        """(scale, sigma, noise, quality) a face: `degrade_face`'s arguments."""
        return list(
            zip(self.scale.tolist(), self.sigma.tolist(), self.noise.tolist(), self.quality.tolist(), strict=True)
        )


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


def degrade_face(
    face: np.ndarray, scale: float, sigma: float, noise: float, quality: int, generator: torch.Generator
) -> np.ndarray:
    """Rescale (area down, bilinear back), blur (a Gaussian of radius ceil(3 sigma), edges mirrored), noise, then
    JPEG last, as a platform re-encodes an upload; float32 or uint8 HWC in, uint8 out."""
    pixels: np.ndarray = face.astype(np.float32)
    height, width = pixels.shape[:2]
    if scale != 1:
        small = cv2.resize(pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        pixels = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    if sigma > 0:
        size = 2 * max(1, int(np.ceil(3 * sigma))) + 1
        pixels = cv2.GaussianBlur(pixels, (size, size), sigma, borderType=cv2.BORDER_REFLECT_101)
    if noise > 0:
        pixels += noise * torch.randn(pixels.shape, generator=generator).numpy()
    degraded = as_uint8(pixels)
    return jpeg(degraded, quality) if quality < 100 else degraded


def as_uint8(pixels: np.ndarray) -> np.ndarray:
    """Rounded half to even (as torch and OpenCV round) and clamped."""
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def jpeg(face: np.ndarray, quality: int) -> np.ndarray:
    """OpenCV's codec (libjpeg-turbo) at `quality`; in BGR order, as OpenCV assumes."""
    _, encoded = cv2.imencode(".jpg", np.ascontiguousarray(face[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    assert decoded is not None, "OpenCV failed to decode the JPEG it just encoded"
    return decoded[..., ::-1]
