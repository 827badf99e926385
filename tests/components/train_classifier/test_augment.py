import pytest
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as tv

from deepfake.components.train_classifier.augment import PoseLighting, augment, move, relight

INNER = (slice(None), slice(None), slice(6, -6), slice(6, -6))  # away from the black border both fill in


def faces(count: int) -> torch.Tensor:
    return torch.rand(count, 3, 64, 64, generator=torch.Generator().manual_seed(count)) * 255


@pytest.mark.parametrize(
    ("degrees", "shift", "zoom"), [(8.0, (0.0, 0.0), 1.0), (0.0, (3.0, -2.0), 1.0), (-5.0, (2.0, 1.0), 0.96)]
)
def test_the_batched_move_is_torchvisions_affine(degrees: float, shift: tuple[float, float], zoom: float) -> None:
    face = faces(1)
    ours = move(face, torch.tensor([False]), torch.tensor([degrees]), torch.tensor([zoom]), torch.tensor([shift]) / 64)
    expected = tv.affine(
        face,
        angle=degrees,
        translate=list(shift),
        scale=zoom,
        shear=[0.0, 0.0],
        interpolation=InterpolationMode.NEAREST,
    )
    assert torch.allclose(ours[INNER], expected[INNER], atol=0.01)


def test_a_mirror_is_a_horizontal_flip() -> None:
    face = faces(1)
    mirrored = move(face, torch.tensor([True]), torch.zeros(1), torch.ones(1), torch.zeros(1, 2))
    assert torch.allclose(mirrored, face.flip(-1), atol=0.01)


def test_relighting_is_torchvisions_brightness_contrast_saturation() -> None:
    face = faces(1)
    factors = [torch.tensor(value).view(1, 1, 1, 1) for value in (1.1, 0.85, 1.15)]
    expected = tv.adjust_saturation(tv.adjust_contrast(tv.adjust_brightness(face / 255, 1.1), 0.85), 1.15) * 255
    assert torch.allclose(relight(face, *factors), expected, atol=0.01)


def test_no_ranges_is_the_identity_and_each_face_draws_its_own() -> None:
    still = PoseLighting(flip=0, degrees=0, shift=0, zoom=(1, 1), brightness=0, contrast=0, saturation=0)
    batch = faces(4)
    assert torch.allclose(augment(batch, still, torch.Generator().manual_seed(0)), batch, atol=0.01)
    same = faces(1).expand(4, -1, -1, -1)
    moved = augment(same, PoseLighting(), torch.Generator().manual_seed(0))
    assert len({tuple(face.flatten()[:64].round().tolist()) for face in moved}) == 4
    again = augment(same, PoseLighting(), torch.Generator().manual_seed(0))
    assert torch.equal(moved, again), "the same generator state draws the same"
