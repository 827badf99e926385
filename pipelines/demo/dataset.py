"""A synthetic DFDC-layout demo dataset: real H.264 clips of the astronaut photo and self-blended fakes of them.

Real clips composite the public-domain astronaut photo (it ships inside scikit-image, so nothing is downloaded)
over varied backgrounds with seeded motion, scale and lighting. Each fake re-renders its original's frames with the
face replaced by a perturbed copy of itself blended back through a soft mask: the self-blended images (SBI) of
Shiohara & Yamasaki (CVPR 2022). SBI fakes carry the artifacts common to face swaps (colour and sharpness mismatch,
a blending boundary, slight misalignment) without a second identity, so a classifier trained on them learns those
cues, not identities; and each fake shares its original's background and motion, as DFDC's fakes do.

The clips show the astronaut; `identity hopper` or `cameraman` shows another person (Grace Hopper, from
matplotlib's sample data; scikit-image's cameraman, grey, tinted), `pair` the astronaut and Grace Hopper in turn.
`mixed` shows the astronaut and, every other clip, a person of one half of the Labeled Faces in the Wild sample
scikit-image ships (100 people, 25 px, grey, upscaled and tinted), `lfw` a person of the other half, which no mixed
dataset shows (those photos fill their frame with the face, so a real LFW clip is a tile pasted over the
background: it carries a boundary about the face as a fake does). Held-out sets for checking a detector on what it
never trained on come from the same generator: another person, and `technique swap`, which pastes a held-out LFW
person's face in with Poisson blending (OpenCV's seamlessClone) instead of self-blending: another identity and
another blending method, as a face-swap tool would.
"""

import argparse
import math
import re
import shutil
import string
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal, get_args

import cv2
import numpy as np
from matplotlib.cbook import get_sample_data
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from skimage import data

from deepfake.components.faces.blending import SelfBlend
from deepfake.components.faces.boxes import FaceBox
from deepfake.components.faces.detection import FaceDetector
from deepfake.components.faces.video import write_h264
from deepfake.components.manifests import Split, write_json
from deepfake.components.params import describe_validation_error

MARKER = ".demo-dataset.json"
PART_PREFIX = "dfdc_train_part_"
NAME_LENGTH = 10
NOISE_PAD = 16
# The face box's height over the frame's shorter side: BlazeFace's full-range model finds such faces reliably, and
# the crops keep enough pixels for the blending artifacts to survive H.264.
FACE_FRACTION = (0.3, 0.42)
Background = Literal["solid", "gradient", "noise", "stripes"]
BACKGROUNDS: tuple[Background, ...] = ("solid", "gradient", "noise", "stripes")
Identity = Literal["astronaut", "pair", "mixed", "lfw", "hopper", "cameraman"]
Technique = Literal["self_blend", "swap"]
PORTRAITS = ("astronaut", "hopper", "cameraman")  # subjects 0, 1, 2; LFW faces follow
LFW_FACES = 100  # lfw_subset() holds 100 faces, then 100 non-faces
LFW_SCALE = 4  # its 25 px faces are upscaled to 100 px
LFW_BORDER = 80  # and set on grey: the detector finds 84 of the 100 so, 7 when the face fills the photo


class DemoError(ValueError):
    """The demo dataset cannot be written where asked; the message names the folder and the fix."""


class DemoOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    real_videos: int = Field(64, ge=1, le=10_000, description="Real clips; each gets `fakes_per_real` fakes.")
    held_out: int = Field(
        32,
        ge=0,
        le=10_000,
        description="More real clips, with their fakes, marked split 'test' in metadata.json: split-dataset keeps"
        " them as the test split (at the defaults, 64 videos: enough to measure an AUC).",
    )
    fakes_per_real: int = Field(1, ge=1, le=10)
    frames: int = Field(16, ge=1, le=3_000, description="Frames per video.")
    fps: int = Field(25, ge=1, le=120)
    width: int = Field(256, ge=128, le=3840, multiple_of=2, description="Even, as H.264 yuv420p needs.")
    height: int = Field(256, ge=128, le=2160, multiple_of=2)
    parts: int = Field(2, ge=1, description="DFDC part folders; each fake lives in its original's part.")
    split: Split = Field("train", description="The split the other videos get in metadata.json.")
    seed: int = Field(0, ge=0)
    identity: Identity = Field(
        "astronaut",
        description="Who the clips show: the astronaut, Grace Hopper (hopper), the cameraman, the astronaut and Grace"
        " Hopper in turn (pair), the astronaut and people of one half of the LFW sample in turn (mixed), or people of"
        " the other half (lfw: held out, never in a mixed dataset).",
    )
    technique: Technique = Field(
        "self_blend", description="How fakes are made: self-blending, or another person's face Poisson-blended in."
    )
    workers: int = Field(2, ge=1, le=64, description="Processes; the output does not depend on it.")

    @model_validator(mode="after")
    def _parts_have_videos(self) -> "DemoOptions":
        if self.parts > self.real_videos:
            raise ValueError(f"parts ({self.parts}) must not exceed real_videos ({self.real_videos})")
        return self


class DemoSummary(BaseModel):
    out: Path
    parts: list[Path]
    metadata: list[Path]
    real_videos: int
    fake_videos: int
    frames_per_video: int
    width: int
    height: int
    fps: int
    seconds: float

    def line(self) -> str:
        return (
            f"wrote {self.real_videos} real + {self.fake_videos} fake videos ({self.frames_per_video} frames, "
            f"{self.width}x{self.height} @ {self.fps} fps) in {len(self.parts)} part(s) to {self.out} "
            f"in {self.seconds:.1f} s"
        )


@dataclass(frozen=True)
class _Job:
    """One video: real clip `index`, or (with `fake` set) that clip's fake number `fake`."""

    path: Path
    index: int
    fake: int | None
    options: DemoOptions
    subject: int  # the photo: a PORTRAITS index, else LFW face number `subject - len(PORTRAITS)`
    donor: int  # the LFW face a swap pastes in


@dataclass(frozen=True)
class Subject:
    """A photo to composite: its pixels (float), an alpha that keeps the person, and the face box in it."""

    photo: np.ndarray
    alpha: np.ndarray
    face: FaceBox


@cache
def subject(number: int) -> Subject:
    """The face box is detected once; the frames' boxes follow from the transforms that made them."""
    photo = portrait(PORTRAITS[number]) if number < len(PORTRAITS) else lfw_photo(number - len(PORTRAITS))
    with FaceDetector() as detector:
        faces = detector.detect(photo)
    if not faces:
        raise RuntimeError(f"the face detector found no face in demo photo {number}")
    face = faces[0]
    return Subject(photo.astype(np.float32), _cutout(photo.shape[:2], face, tight=number >= len(PORTRAITS)), face)


def portrait(name: str) -> np.ndarray:
    """A public-domain head-and-shoulders photo an installed package ships: the astronaut (Eileen Collins) and the
    cameraman from scikit-image (grey, tinted to a skin tone), Grace Hopper from matplotlib's sample data."""
    if name == "astronaut":
        return np.asarray(data.astronaut())
    if name == "hopper":
        path = Path(get_sample_data("grace_hopper.jpg", asfileobj=False))
        photo = cv2.imread(str(path))
        if photo is None:
            raise RuntimeError(f"cannot read {path}: reinstall matplotlib (make install)")
        return cv2.cvtColor(photo, cv2.COLOR_BGR2RGB)
    return _tinted(data.camera().astype(np.float32) / 255, np.array((1.05, 0.85, 0.7), np.float32))


def lfw_photo(number: int) -> np.ndarray:
    """LFW face `number`, upscaled, tinted from grey to a skin tone that varies with the person, on a grey border."""
    grey = cv2.resize(_lfw()[number], None, fx=LFW_SCALE, fy=LFW_SCALE, interpolation=cv2.INTER_CUBIC)
    tint = np.random.default_rng([number, 2]).uniform((0.95, 0.75, 0.6), (1.1, 0.95, 0.85)).astype(np.float32)
    face = _tinted(grey, tint)
    border = LFW_BORDER
    return np.asarray(cv2.copyMakeBorder(face, border, border, border, border, cv2.BORDER_CONSTANT, value=(128,) * 3))


def _tinted(grey: np.ndarray, tint: np.ndarray) -> np.ndarray:
    """A grey photo (floats in [0, 1]) as RGB uint8 in a skin tone: `tint` scales each channel."""
    return np.clip(grey[..., None] * 255 * tint, 0, 255).astype(np.uint8)


@cache
def _lfw() -> np.ndarray:
    return data.lfw_subset()[:LFW_FACES].astype(np.float32)


@cache
def lfw_people() -> tuple[int, ...]:
    """The LFW faces the detector finds once upscaled (84 of 100), as subject numbers."""
    with FaceDetector() as detector:
        found = (number for number in range(LFW_FACES) if detector.detect(lfw_photo(number)))
        return tuple(number + len(PORTRAITS) for number in found)


def clip_person(identity: Identity, people: tuple[int, ...], index: int) -> int:
    """Clip `index`'s subject: a PORTRAITS index, or an LFW person's. The LFW people alternate between two halves:
    mixed datasets take every other clip's person from the first, held-out `lfw` sets (and swap donors) theirs from
    the second, so no held-out person is ever trained on."""
    if identity in PORTRAITS:
        return PORTRAITS.index(identity)
    if identity == "pair":
        return index % 2
    if identity == "lfw":
        return people[1::2][index % len(people[1::2])]
    return 0 if index % 2 == 0 else people[::2][index // 2 % len(people[::2])]


def make_demo_dataset(out: Path, options: DemoOptions) -> DemoSummary:
    started = time.perf_counter()
    _prepare(out, options)
    people = lfw_people() if options.identity in ("mixed", "lfw") or options.technique == "swap" else ()
    unseen = people[1::2]
    names = _names(options)
    jobs: list[_Job] = []
    metadata: dict[Path, dict[str, dict[str, str | None]]] = {}
    reals = options.real_videos + options.held_out
    for index in range(reals):
        folder = out / f"{PART_PREFIX}{index * options.parts // reals}"
        split = options.split if index < options.real_videos else "test"
        first_fake = reals + index * options.fakes_per_real
        real, fakes = names[index], tuple(names[first_fake : first_fake + options.fakes_per_real])
        person = clip_person(options.identity, people, index)
        donor = unseen[(index * 7 + 3) % len(unseen)] if unseen else 0
        if donor == person and len(unseen) > 1:
            donor = unseen[(unseen.index(person) + 1) % len(unseen)]
        jobs.append(_Job(folder / f"{real}.mp4", index, None, options, person, donor))
        entries = metadata.setdefault(folder, {})
        entries[f"{real}.mp4"] = {"label": "REAL", "split": split, "original": None}
        for number, fake in enumerate(fakes):
            jobs.append(_Job(folder / f"{fake}.mp4", index, number, options, person, donor))
            entries[f"{fake}.mp4"] = {"label": "FAKE", "split": split, "original": f"{real}.mp4"}
    if options.workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(min(options.workers, len(jobs))) as pool:
            list(pool.map(_render, jobs))
    else:
        for job in jobs:
            _render(job)
    folders = sorted(metadata)
    for folder in folders:
        write_json(folder / "metadata.json", metadata[folder])
    return DemoSummary(
        out=out,
        parts=folders,
        metadata=[folder / "metadata.json" for folder in folders],
        real_videos=reals,
        fake_videos=reals * options.fakes_per_real,
        frames_per_video=options.frames,
        width=options.width,
        height=options.height,
        fps=options.fps,
        seconds=round(time.perf_counter() - started, 2),
    )


def _prepare(out: Path, options: DemoOptions) -> None:
    """Clear a previous demo dataset (its marker says so) and refuse any other non-empty folder.

    The marker is written before any video, so an interrupted run can be regenerated too.
    """
    if out.exists() and not out.is_dir():
        raise DemoError(f"{out} is a file, not a folder: pass --out a new or empty folder")
    entries = sorted(out.iterdir()) if out.is_dir() else []
    ours = (out / MARKER).is_file() and all(
        entry.name == MARKER or (entry.is_dir() and entry.name.startswith(PART_PREFIX)) for entry in entries
    )
    if entries and not ours:
        raise DemoError(
            f"{out} is not empty and is not a demo dataset written by this command: "
            "pass --out a new or empty folder, or delete that folder first"
        )
    for entry in entries:
        if entry.is_dir():
            shutil.rmtree(entry)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / MARKER, options.model_dump(mode="json", exclude={"workers"}))


def _names(options: DemoOptions) -> list[str]:
    """Random DFDC-like names, so a file name never tells a real from a fake."""
    rng = np.random.default_rng([options.seed, 0])
    letters = np.array(list(string.ascii_lowercase))
    names: dict[str, None] = {}
    while len(names) < (options.real_videos + options.held_out) * (1 + options.fakes_per_real):
        names["".join(rng.choice(letters, NAME_LENGTH))] = None
    return list(names)


def _render(job: _Job) -> None:
    """A fake re-renders its original's scene from the same seed rather than keeping the real's frames in memory.

    Seeds come from (seed, index) alone, so the output does not depend on the number of workers or the job order.
    """
    options = job.options
    scene_seed, *fake_seeds = np.random.SeedSequence([options.seed, 1, job.index]).spawn(1 + options.fakes_per_real)
    person = subject(job.subject)
    scene = _Scene(np.random.default_rng(scene_seed), options, person)
    frames = (scene.frame(t) for t in range(options.frames))
    if job.fake is None:
        write_h264(job.path, (frame for frame, _ in frames), fps=options.fps)
        return
    rng = np.random.default_rng(fake_seeds[job.fake])
    if options.technique == "swap":
        swap = PoissonSwap(rng, person.face, subject(job.donor))
        write_h264(job.path, (swap.apply(frame, placement) for frame, placement in frames), fps=options.fps)
        return
    blend = SelfBlend(rng, person.face)
    write_h264(job.path, (blend.apply(frame, placement) for frame, placement in frames), fps=options.fps)


class PoissonSwap:
    """Another person's face pasted over the subject's with Poisson blending: gradients from the donor, colours
    matched at the mask's boundary (OpenCV's seamlessClone), a soft ellipse over the eyes, nose and mouth."""

    def __init__(self, rng: np.random.Generator, face: FaceBox, donor: Subject) -> None:
        self.face, self.donor = face, donor.photo.astype(np.uint8)
        width, height = face.width / donor.face.width, face.height / donor.face.height
        # donor face box → subject face box, with a little seeded misalignment
        self.to_subject = np.array(
            [
                [width, 0, face.x - donor.face.x * width + rng.uniform(-0.03, 0.03) * face.width],
                [0, height, face.y - donor.face.y * height + rng.uniform(-0.03, 0.03) * face.height],
            ]
        )
        self.half_axes = (face.width * rng.uniform(0.34, 0.42), face.height * rng.uniform(0.42, 0.5))
        self.mode = cv2.NORMAL_CLONE if rng.uniform() < 0.7 else cv2.MIXED_CLONE

    def apply(self, frame: np.ndarray, placement: np.ndarray) -> np.ndarray:
        size = frame.shape[1::-1]
        to_frame = placement[:, :2] @ self.to_subject
        to_frame = np.hstack([to_frame[:, :2], (placement[:, :2] @ self.to_subject[:, 2:] + placement[:, 2:])])
        donor = cv2.warpAffine(self.donor, to_frame, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        centre = cv2.transform(np.array([[self.face.centre]], np.float64), placement)[0, 0]
        scale = math.sqrt(abs(np.linalg.det(placement[:, :2])))
        angle = math.degrees(math.atan2(placement[1, 0], placement[0, 0]))
        mask = np.zeros(frame.shape[:2], np.uint8)
        axes = (max(2, round(self.half_axes[0] * scale)), max(2, round(self.half_axes[1] * scale)))
        cv2.ellipse(mask, (round(centre[0]), round(centre[1])), axes, angle, 0, 360, 255, -1)
        x, y, width, height = cv2.boundingRect(mask)
        if x <= 0 or y <= 0 or x + width >= size[0] or y + height >= size[1]:
            return frame  # seamlessClone needs the mask inside the frame; the scene keeps the face well inside
        return cv2.seamlessClone(donor, frame, mask, (x + width // 2, y + height // 2), self.mode)


class _Scene:
    """One real clip: the photo warped along a smooth seeded path over a seeded background, then lit and noised."""

    def __init__(self, rng: np.random.Generator, options: DemoOptions, person: Subject) -> None:
        face = person.face
        self.rng, self.width, self.height, self.frames = rng, options.width, options.height, options.frames
        self.face_centre = np.array([face.x + face.width / 2, face.y + face.height / 2])
        self.face_side = max(face.width, face.height)
        self.base_scale = rng.uniform(*FACE_FRACTION) * min(self.width, self.height) / face.height
        self.zoom = rng.uniform(0.0, 0.1)
        self.base_angle = rng.uniform(-8.0, 8.0)
        self.sway = rng.uniform(0.0, 5.0)
        self.start = np.array([rng.uniform(0.35, 0.65) * self.width, rng.uniform(0.3, 0.5) * self.height])
        self.amplitude = rng.uniform(0.02, 0.1, 2) * (self.width, self.height)
        self.cycles = rng.uniform(0.3, 1.5, 4)
        self.phase = rng.uniform(0, 2 * math.pi, 4)
        # Shrunk once with area averaging, as warpAffine only interpolates and would alias a large reduction.
        self.prescale = self.base_scale * (1 + self.zoom)
        photo, alpha = person.photo, person.alpha
        small = (round(photo.shape[1] * self.prescale), round(photo.shape[0] * self.prescale))
        self.subject: np.ndarray = cv2.resize(photo, small, interpolation=cv2.INTER_AREA)
        self.alpha = cv2.resize(alpha, small, interpolation=cv2.INTER_AREA)
        background = _background(rng, self.width, self.height)
        np.multiply(
            self.subject, (1 + _ramp(rng, small[1], small[0]) * rng.uniform(0.0, 0.4))[..., None], out=self.subject
        )
        tint = rng.uniform(0.85, 1.15, 3).astype(np.float32)
        # Exposure (contrast, brightness, white balance) is one affine map per channel, so it is applied once to the
        # subject and the background here rather than to every composited frame.
        contrast, brightness = rng.uniform(0.75, 1.2), rng.uniform(-30.0, 30.0)
        self.gain = rng.uniform(0.9, 1.1, 3).astype(np.float32)
        scale, offset = contrast * self.gain, (128 * (1 - contrast) + brightness) * self.gain
        self.background = background * scale + offset
        np.multiply(self.subject, tint * scale, out=self.subject)
        np.add(self.subject, offset, out=self.subject)
        self.flicker = rng.uniform(0.0, 4.0)
        # Sensor noise: windows of one larger noise field at random offsets, far cheaper than fresh noise per frame.
        self.noise = rng.standard_normal((self.height + NOISE_PAD, self.width + NOISE_PAD, 3), np.float32)
        self.noise *= rng.uniform(0.5, 2.0)

    def placement(self, t: int) -> np.ndarray:
        """The similarity transform (photo to frame) at frame `t`: it tells where the face is without detection."""
        wave = np.sin(2 * math.pi * self.cycles * t / max(1, self.frames - 1) + self.phase)
        scale = self.base_scale * (1 + self.zoom * wave[2])
        margin = 0.6 * scale * self.face_side
        low, high = (margin, margin), (self.width - margin, self.height - margin)
        centre = np.clip(self.start + self.amplitude * wave[:2], low, high)
        matrix = cv2.getRotationMatrix2D(tuple(self.face_centre), self.base_angle + self.sway * wave[3], scale)
        matrix[:, 2] += centre - self.face_centre
        return matrix

    def frame(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        placement = self.placement(t)
        matrix = placement.copy()
        matrix[:, :2] /= self.prescale
        size = (self.width, self.height)
        image: np.ndarray = cv2.warpAffine(self.subject, matrix, size, flags=cv2.INTER_LINEAR)
        image -= self.background
        image *= cv2.warpAffine(self.alpha, matrix, size, flags=cv2.INTER_LINEAR)[..., None]
        image += self.background
        image += self.gain * (self.flicker * self.rng.standard_normal())
        top, left = self.rng.integers(0, NOISE_PAD + 1, 2)
        image += self.noise[top : top + self.height, left : left + self.width]
        return np.clip(image, 0, 255, out=image).astype(np.uint8), placement


def _cutout(shape: tuple[int, ...], face: FaceBox, tight: bool) -> np.ndarray:
    """An alpha that keeps head and shoulders with a soft edge; for a photo of a face alone (LFW's, on its grey
    border), an ellipse about the face with some of the grey around it: cut closer, the detector finds far fewer."""
    mask = np.zeros(shape[:2], np.float32)
    cx, cy = round(face.x + face.width / 2), round(face.y + face.height / 2)
    if tight:
        room = round(face.width * 0.12)
        half_width = min(round(face.width * 0.75), cx - room, shape[1] - cx - room)
        half_height = min(round(face.height * 0.95), cy - room, shape[0] - cy - room)
        cv2.ellipse(mask, (cx, cy), (half_width, half_height), 0, 0, 360, 1.0, -1)
        return cv2.GaussianBlur(mask, (0, 0), face.width * 0.04)
    cv2.ellipse(mask, (cx, cy - face.height // 8), (face.width, round(face.height * 1.2)), 0, 0, 360, 1.0, -1)
    cv2.ellipse(
        mask, (cx, cy + round(face.height * 2.4)), (face.width * 2, round(face.height * 1.6)), 0, 0, 360, 1.0, -1
    )
    return cv2.GaussianBlur(mask, (0, 0), face.width * 0.08)


def _ramp(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A linear ramp in [-0.5, 0.5] along a random direction: side lighting, or a gradient's blend weight."""
    angle = rng.uniform(0, 2 * math.pi)
    xs = np.linspace(0, math.cos(angle), width, dtype=np.float32)
    ys = np.linspace(0, math.sin(angle), height, dtype=np.float32)[:, None]
    along = xs + ys
    return (along - along.min()) / max(1e-6, float(np.ptp(along))) - 0.5


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    kind = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    first, second = rng.uniform(0, 255, (2, 3)).astype(np.float32)
    if kind == "solid":
        return np.broadcast_to(first, (height, width, 3)).copy()
    if kind == "gradient":
        weight = _ramp(rng, height, width)[..., None] + 0.5
    elif kind == "stripes":
        weight = (np.sin(_ramp(rng, height, width) * 2 * math.pi * rng.uniform(2, 10))[..., None] + 1) / 2
    else:
        cells = rng.uniform(0, 255, (int(rng.integers(3, 10)), int(rng.integers(3, 10)), 3)).astype(np.float32)
        coarse = cv2.resize(cells, (width, height), interpolation=cv2.INTER_CUBIC)
        fine = rng.standard_normal((height, width, 3), np.float32) * rng.uniform(1, 5)
        return np.clip(coarse + fine, 0, 255)
    return first * (1 - weight) + second * weight


def _parse_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)", text.strip().lower())
    if not match:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 256x256, got {text!r}")
    return int(match[1]), int(match[2])


def main(argv: list[str] | None = None) -> int:
    defaults = DemoOptions()
    parser = argparse.ArgumentParser(
        prog="python -m deepfake.pipelines.demo.dataset",
        description="Write a DFDC-layout demo dataset: astronaut clips and self-blended (SBI) fakes of them.",
    )
    parser.add_argument("--out", type=Path, required=True, help="a new or empty folder, or a previous demo dataset")
    parser.add_argument("--real-videos", type=int, default=defaults.real_videos)
    parser.add_argument("--held-out", type=int, default=defaults.held_out, help="real clips marked 'test'")
    parser.add_argument("--fakes-per-real", type=int, default=defaults.fakes_per_real)
    parser.add_argument("--frames", type=int, default=defaults.frames, help="frames per video")
    parser.add_argument("--fps", type=int, default=defaults.fps)
    parser.add_argument("--size", type=_parse_size, default=(defaults.width, defaults.height), metavar="WxH")
    parser.add_argument("--parts", type=int, default=defaults.parts)
    parser.add_argument("--split", default=defaults.split, choices=["train", "validation", "test"])
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--identity", default=defaults.identity, choices=get_args(Identity))
    parser.add_argument("--technique", default=defaults.technique, choices=["self_blend", "swap"])
    parser.add_argument("--workers", type=int, default=defaults.workers)
    args = parser.parse_args(argv)
    try:
        options = DemoOptions(
            real_videos=args.real_videos,
            held_out=args.held_out,
            fakes_per_real=args.fakes_per_real,
            frames=args.frames,
            fps=args.fps,
            width=args.size[0],
            height=args.size[1],
            parts=args.parts,
            split=args.split,
            seed=args.seed,
            identity=args.identity,
            technique=args.technique,
            workers=args.workers,
        )
    except ValidationError as exc:
        parser.error(describe_validation_error(exc, "option"))
    try:
        summary = make_demo_dataset(args.out, options)
    except DemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
