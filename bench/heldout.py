"""A registered model on media it never trained on, scored through the batch-scoring pipeline as a user would.

    .venv/bin/python -m bench.heldout --model runs/registry/deepfake-detector/1 [--videos 32] [--seed 1000]

Each set is written by the demo generator with seeds the demo never uses, so no scene, person or fake repeats:
- new-scenes: the demo's person and technique (self-blending) in new scenes: the in-distribution reference.
- new-identity-hopper / -cameraman: another person (Grace Hopper; the cameraman, grey, tinted), self-blended. The
  LFW people are not used as new identities: their real clips are tiles pasted over a background (see the demo).
- unseen-swap: the demo's person with a held-out LFW person's face Poisson-blended in (a technique it never saw).
- unseen-swap-new-identity: both at once, on Grace Hopper.
- new-scenes-crf40 / -half / -blur: new-scenes through perturb-videos' re-encodes.
Unscorable videos (no face found) count as wrong: a detector that finds no face gives no verdict. AUC and accuracy
are over the scorable videos, ± one bootstrap standard deviation (stratified, 200 resamples).
"""

import argparse
import csv
import io
import json
import tempfile
from pathlib import Path

from deepfake.components.evaluate_model.metrics import binary_classification_metrics
from deepfake.components.manifests import VideoRecord, read_jsonl
from deepfake.components.perturb_videos.component import Job, perturb
from deepfake.components.score_videos.verdicts import UNSCORABLE, Verdict
from deepfake.pipelines.builtin.batch_scoring import build_pipeline
from deepfake.pipelines.demo.dataset import DemoOptions, Identity, Technique, make_demo_dataset
from deepfake.pipelines.local.records import StepState
from deepfake.pipelines.local.runner import LocalRunner

SETS: dict[str, tuple[Identity, Technique]] = {
    "new-scenes": ("astronaut", "self_blend"),
    "new-identity-hopper": ("hopper", "self_blend"),
    "new-identity-cameraman": ("cameraman", "self_blend"),
    "unseen-swap": ("astronaut", "swap"),
    "unseen-swap-new-identity": ("hopper", "swap"),
}
REENCODES = ("crf40", "half", "blur")
BOOTSTRAP = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="a registry version folder or a model folder")
    parser.add_argument("--videos", type=int, default=32, help="real videos a set (each gets one fake)")
    parser.add_argument("--seed", type=int, default=1000, help="the sets' seeds start here (the demo uses 0)")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--face-size", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        roots = {}
        for offset, (name, (identity, technique)) in enumerate(SETS.items()):
            options = DemoOptions(
                real_videos=args.videos,
                held_out=0,
                seed=args.seed + offset,
                parts=1,
                identity=identity,
                technique=technique,
            )
            roots[name] = make_demo_dataset(work / name, options).out
        labels = dfdc_labels(roots["new-scenes"])
        for perturbation in REENCODES:
            roots[f"new-scenes-{perturbation}"] = reencoded(roots["new-scenes"], labels, perturbation, work)
        print(f"model {args.model}; {args.videos} real + {args.videos} fake videos a set, {args.frames} frames each")
        print(f"{'set':30s} {'scored':>7s} {'AUC':>16s} {'accuracy':>16s}")
        for name, root in roots.items():
            print(score(name, root, args, work / "runs"), flush=True)


def dfdc_labels(root: Path) -> dict[str, int]:
    """Relative path → label, from a demo dataset's metadata.json files."""
    labels = {}
    for metadata in root.glob("*/metadata.json"):
        for name, entry in json.loads(metadata.read_text()).items():
            labels[f"{metadata.parent.name}/{name}"] = 1 if entry["label"] == "FAKE" else 0
    return labels


def reencoded(root: Path, labels: dict[str, int], perturbation: str, work: Path) -> Path:
    """perturb-videos' copy of every video of `root`, as a CSV dataset (path,label) a labelled layout reads."""
    out = work / f"reencoded-{perturbation}"
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["path", "label"])
    for relative, label in sorted(labels.items()):
        record = VideoRecord(
            id=relative.removesuffix(".mp4"),
            path=relative,
            label=label,
            group=relative,
            dataset="dfdc",
            frames=0,
            fps=25,
            width=256,
            height=256,
            duration_s=0,
        )
        job = Job(record, perturbation, root / relative, out / relative, relative, max_frames=10_000)
        job.target.parent.mkdir(parents=True, exist_ok=True)
        outcome = perturb(job)
        if isinstance(outcome, str):
            raise RuntimeError(f"{relative}: {outcome}")
        writer.writerow([relative, label])
    (out / "labels.csv").write_text(rows.getvalue())
    return out


def score(name: str, root: Path, args: argparse.Namespace, runs: Path) -> str:
    dataset_format = "csv" if (root / "labels.csv").is_file() else "dfdc"
    record = LocalRunner(runs, stream_logs=False).run(
        build_pipeline(),
        {
            "InputData": str(root),
            "ModelData": str(args.model),
            "DatasetFormat": dataset_format,
            "FramesPerVideo": str(args.frames),
            "FaceSize": str(args.face_size),
        },
    )
    if record.state is not StepState.SUCCEEDED:
        raise RuntimeError(f"{name}: batch scoring failed: {record.failure}")
    manifest = read_jsonl(record.steps["ingest-videos"].outputs["manifest"].path / "videos.jsonl", VideoRecord)
    truth = {video.id: video.label for video in manifest}
    verdicts = read_jsonl(record.steps["score-videos"].outputs["verdicts"].path / "verdicts.jsonl", Verdict)
    scored = [verdict for verdict in verdicts if verdict.label != UNSCORABLE and verdict.probability_fake is not None]
    threshold = verdicts[0].threshold
    metrics = binary_classification_metrics(
        [truth[verdict.video_id] for verdict in scored],
        [verdict.probability_fake for verdict in scored],
        threshold,
        BOOTSTRAP,
        0,
    )
    auc, accuracy = metrics["auc"], metrics["accuracy"]
    # An unscorable video is a wrong verdict: the accuracy over every video, not only the scorable ones.
    right = accuracy["value"] * len(scored)
    overall = right / len(verdicts)
    return (
        f"{name:30s} {len(scored):3d}/{len(verdicts):<3d} {auc['value']:.3f} ± {auc['standard_deviation']:.3f}"
        f"    {overall:.3f} ± {accuracy['standard_deviation']:.3f}"
    )


if __name__ == "__main__":
    main()
