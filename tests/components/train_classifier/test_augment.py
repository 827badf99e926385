import numpy as np
import pytest
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as tv

from deepfake.components.train_classifier.augment import PoseLighting, augment, draw_poses, move, relight

INNER = (slice(6, -6), slice(6, -6))  # away from the black border both fill in


def face(seed: int = 0, side: int = 64) -> np.ndarray:
    """A uint8 HWC noise face: any pixel taken from the wrong place shows."""
    return np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)


def chw(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1)


@pytest.mark.parametrize("side", [64, 224])
@pytest.mark.parametrize(
    ("degrees", "shift", "zoom"), [(8.0, (0.0, 0.0), 1.0), (0.0, (3.0, -2.0), 1.0), (-5.0, (2.0, 1.0), 0.96)]
)
def test_the_move_is_torchvisions_affine(side: int, degrees: float, shift: tuple[float, float], zoom: float) -> None:
    pixels = face(side=side)
    ours = move(pixels, False, degrees, zoom, (shift[0] / side, shift[1] / side))
    expected = tv.affine(
        chw(pixels),
        angle=degrees,
        translate=list(shift),
        scale=zoom,
        shear=[0.0, 0.0],
        interpolation=InterpolationMode.NEAREST,
    )
    assert torch.equal(chw(ours)[:, *INNER], expected[:, *INNER])


def test_a_mirror_is_a_horizontal_flip() -> None:
    pixels = face()
    assert np.array_equal(move(pixels, True, 0.0, 1.0, (0.0, 0.0)), pixels[:, ::-1])


def test_relighting_is_torchvisions_brightness_contrast_saturation() -> None:
    pixels = face()
    expected = tv.adjust_saturation(tv.adjust_contrast(tv.adjust_brightness(chw(pixels) / 255, 1.1), 0.85), 1.15)
    assert torch.allclose(chw(relight(pixels, 1.1, 0.85, 1.15)), expected * 255, atol=0.01)


def test_no_ranges_is_the_identity_and_each_face_draws_its_own() -> None:
    still = PoseLighting(flip=0, degrees=0, shift=0, zoom=(1, 1), brightness=0, contrast=0, saturation=0)
    pixels = face()
    for pose in draw_poses(4, still, torch.Generator().manual_seed(0)):
        assert np.allclose(augment(pixels, pose), pixels, atol=0.01)
    poses = draw_poses(4, PoseLighting(), torch.Generator().manual_seed(0))
    moved = [augment(pixels, pose) for pose in poses]
    assert len({tuple(np.round(each.ravel()[:64]).tolist()) for each in moved}) == 4
    assert draw_poses(4, PoseLighting(), torch.Generator().manual_seed(0)) == poses, "the same state draws the same"
