"""summary.json (the counts a condition step can read by JSON path) and report.md (what a person reads first)."""

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from deepfake.components.classifier.model import ModelConfig
from deepfake.components.manifests import RejectedVideo, write_json
from deepfake.components.score_videos.verdicts import UNSCORABLE, VERDICTS_CSV, Verdict

SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.md"
LABELS = ("REAL", "FAKE", UNSCORABLE)
ROWS_SHOWN = 50


def summary_document(
    verdicts: Sequence[Verdict],
    not_ingested: Sequence[RejectedVideo],
    config: ModelConfig,
    settings: dict[str, Any],
) -> dict[str, Any]:
    counts: Counter[str] = Counter(verdict.label for verdict in verdicts)
    scored = counts["REAL"] + counts["FAKE"]
    return {
        "videos": len(verdicts),
        "counts": {label: counts[label] for label in LABELS},
        "fake_share": round(counts["FAKE"] / scored, 6) if scored else 0.0,
        "faces_scored": sum(verdict.faces_scored for verdict in verdicts),
        "not_ingested": len(not_ingested),
        "model": {"version": config.version, "architecture": config.architecture, "image_size": config.image_size},
        **settings,
    }


def write_summary(
    folder: Path, document: dict[str, Any], verdicts: Sequence[Verdict], not_ingested: Sequence[RejectedVideo]
) -> None:
    write_json(folder / SUMMARY_FILE, document)
    model = document["model"]
    lines = [
        "# Batch scoring",
        "",
        f"Model `{model['version']}` ({model['architecture']}, {model['image_size']} px faces); a video's face"
        f" probabilities are aggregated by {document['aggregation']}, and FAKE means probability_fake ≥"
        f" {document['threshold']:g}. Every video is in `{VERDICTS_CSV}`.",
        "",
        "| verdict | videos |",
        "|---|---:|",
        *(f"| {label} | {count} |" for label, count in document["counts"].items()),
        "",
    ]
    fakes = sorted(
        (verdict for verdict in verdicts if verdict.label == "FAKE"),
        key=lambda verdict: (-(verdict.probability_fake or 0.0), verdict.video_id),
    )
    lines += _table(
        "Videos called FAKE, most likely first",
        ("video", "probability_fake", "faces scored"),
        [(verdict.video_id, f"{verdict.probability_fake:.4f}", str(verdict.faces_scored)) for verdict in fakes],
        f"`{VERDICTS_CSV}`",
    )
    lines += _table(
        "Unscorable videos (no verdict was guessed)",
        ("video", "reason"),
        [(verdict.video_id, verdict.reason or "") for verdict in verdicts if verdict.label == UNSCORABLE],
        f"`{VERDICTS_CSV}`",
    )
    lines += _table(
        "Files ingest-videos could not use (not in the verdicts)",
        ("path", "reason"),
        [(row.path, row.reason) for row in not_ingested],
        "the manifest's `rejected.jsonl`",
    )
    (folder / REPORT_FILE).write_text("\n".join(lines).rstrip() + "\n")


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], rest_in: str) -> list[str]:
    """At most ROWS_SHOWN rows: a report of a million videos stays readable; `rest_in` says where the others are."""
    if not rows:
        return []
    lines = [f"## {title}", "", f"| {' | '.join(header)} |", f"|{'---|' * len(header)}"]
    lines += [f"| {' | '.join(_cell(value) for value in row)} |" for row in rows[:ROWS_SHOWN]]
    if len(rows) > ROWS_SHOWN:
        lines.append(f"\n… and {len(rows) - ROWS_SHOWN} more in {rest_in}.")
    return [*lines, ""]


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")
