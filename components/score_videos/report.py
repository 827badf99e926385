"""summary.json (the counts a condition step can read by JSON path) and report.md (what a person reads first)."""

import heapq
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from deepfake.components.classifier.model import ModelConfig
from deepfake.components.manifests import RejectedVideo, write_json
from deepfake.components.score_videos.verdicts import UNSCORABLE, VERDICTS_CSV, Verdict

SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.md"
LABELS = ("REAL", "FAKE", UNSCORABLE)
ROWS_SHOWN = 50


class Tally:
    """What the summary needs of the verdicts, gathered as they stream past: the counts, the most likely fakes and
    the first unscorable videos (the report shows at most ROWS_SHOWN of each), so no verdict list is kept."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.faces_scored = 0
        # A min-heap of the top fakes as (probability, -arrival, id, faces): of tied probabilities the first to
        # arrive (verdicts come sorted by id) stays.
        self.fakes: list[tuple[float, int, str, int]] = []
        self.unscorable: list[tuple[str, str]] = []

    def counted(self, verdicts: Iterable[Verdict]) -> Iterator[Verdict]:
        for verdict in verdicts:
            self.counts[verdict.label] += 1
            self.faces_scored += verdict.faces_scored
            if verdict.label == "FAKE":
                arrival = -self.counts["FAKE"]
                entry = (verdict.probability_fake or 0.0, arrival, verdict.video_id, verdict.faces_scored)
                if len(self.fakes) < ROWS_SHOWN:
                    heapq.heappush(self.fakes, entry)
                else:
                    heapq.heappushpop(self.fakes, entry)
            elif verdict.label == UNSCORABLE and len(self.unscorable) < ROWS_SHOWN:
                self.unscorable.append((verdict.video_id, verdict.reason or ""))
            yield verdict

    def top_fakes(self) -> list[tuple[str, float, int]]:
        """(video id, probability_fake, faces scored), most likely first; ties by id."""
        return [(video, probability, faces) for probability, _, video, faces in sorted(self.fakes, reverse=True)]


def summary_document(
    tally: Tally, not_ingested: Sequence[RejectedVideo], config: ModelConfig, settings: dict[str, Any]
) -> dict[str, Any]:
    counts = tally.counts
    scored = counts["REAL"] + counts["FAKE"]
    return {
        "videos": sum(counts.values()),
        "counts": {label: counts[label] for label in LABELS},
        "fake_share": round(counts["FAKE"] / scored, 6) if scored else 0.0,
        "faces_scored": tally.faces_scored,
        "not_ingested": len(not_ingested),
        "model": {"version": config.version, "architecture": config.architecture, "image_size": config.image_size},
        **settings,
    }


def write_summary(folder: Path, document: dict[str, Any], tally: Tally, not_ingested: Sequence[RejectedVideo]) -> None:
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
    lines += _table(
        "Videos called FAKE, most likely first",
        ("video", "probability_fake", "faces scored"),
        [(video, f"{probability:.4f}", str(faces)) for video, probability, faces in tally.top_fakes()],
        tally.counts["FAKE"],
        f"`{VERDICTS_CSV}`",
    )
    lines += _table(
        "Unscorable videos (no verdict was guessed)",
        ("video", "reason"),
        tally.unscorable,
        tally.counts[UNSCORABLE],
        f"`{VERDICTS_CSV}`",
    )
    lines += _table(
        "Files ingest-videos could not use (not in the verdicts)",
        ("path", "reason"),
        [(row.path, row.reason) for row in not_ingested],
        len(not_ingested),
        "the manifest's `rejected.jsonl`",
    )
    (folder / REPORT_FILE).write_text("\n".join(lines).rstrip() + "\n")


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], total: int, rest_in: str) -> list[str]:
    """At most ROWS_SHOWN of `total` rows: a report of a million videos stays readable; `rest_in` says where the
    others are."""
    if not rows:
        return []
    lines = [f"## {title}", "", f"| {' | '.join(header)} |", f"|{'---|' * len(header)}"]
    lines += [f"| {' | '.join(_cell(value) for value in row)} |" for row in rows[:ROWS_SHOWN]]
    if total > ROWS_SHOWN:
        lines.append(f"\n… and {total - ROWS_SHOWN} more in {rest_in}.")
    return [*lines, ""]


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")
