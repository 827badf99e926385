"""Scoring face crop files in batches, as evaluate-model and score-videos both do: the model and every crop checked
before any work, then decoding on a thread a core."""

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchvision.transforms import v2

from deepfake.components.classifier.model import ModelConfig, load_model
from deepfake.components.classifier.scoring import eval_transform, load_face, predict_probabilities
from deepfake.components.face_crops import FaceCrops

log = logging.getLogger(__name__)
PROGRESS_STEPS = 10


class ScoringInputError(ValueError):
    """The model or the face crops cannot be scored as given; the message names the input and what to pass."""


def open_model(folder: Path) -> tuple[nn.Module, ModelConfig]:
    try:
        return load_model(folder)
    except Exception as exc:  # a corrupt or foreign file fails deep in torch.load (weights_only) or pydantic
        raise ScoringInputError(
            f"input 'model' at {folder} does not load ({type(exc).__name__}: {exc}); pass the model folder or"
            f" model.tar.gz that train-classifier wrote (a registered model's model data), made with this"
            f" repository's torch and torchvision"
        ) from exc


def locate_crops(root: Path, images: Sequence[str], listed_in: str) -> FaceCrops:
    """Every crop, checked before the model loads, so a mismatched FaceDataset fails in seconds, not mid-run."""
    crops = FaceCrops(root)
    missing = [image for image in images if not crops.exists(image)]
    if missing:
        raise ScoringInputError(
            f"{len(missing)} of {len(images)} face images named in {listed_in} are missing from input 'faces' (first:"
            f" {missing[0]}): pass the FaceDataset {listed_in} was made from"
        )
    return crops


def score_crops(
    network: nn.Module, config: ModelConfig, crops: FaceCrops, images: Sequence[str], batch_size: int
) -> np.ndarray:
    """probability_fake a face, in the order of `images`; on the GPU when there is one."""
    cores = len(os.sched_getaffinity(0))
    torch.set_num_threads(cores)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    network = network.to(device)
    load = partial(_load_face, crops=crops, transform=eval_transform(config))
    batches = [images[start : start + batch_size] for start in range(0, len(images), batch_size)]
    every = max(1, len(batches) // PROGRESS_STEPS)
    scores = [np.empty(0, dtype=np.float32)]
    with ThreadPoolExecutor(max_workers=cores) as pool, torch.inference_mode():
        for number, batch in enumerate(batches, start=1):
            tensors = list(pool.map(load, batch))
            scores.append(predict_probabilities(network, torch.stack(tensors).to(device), config))
            if number % every == 0 or number == len(batches):
                log.info("scored %d of %d faces", min(number * batch_size, len(images)), len(images))
    return np.concatenate(scores).astype(np.float64)


def _load_face(image: str, crops: FaceCrops, transform: v2.Compose) -> torch.Tensor:
    return transform(load_face(crops.open(image)))
