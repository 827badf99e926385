"""`report.md` beside `run.json`: what a person reads after a run — parameters, steps, the gate, the model, plots."""

import os
import re
from pathlib import Path

from deepfake.pipelines.local.metrics import metrics_svg
from deepfake.pipelines.local.records import RunRecord, StepRecord

LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")


def write_report(record: RunRecord) -> Path:
    lines = [
        f"# {record.pipeline} — {record.execution_id}",
        "",
        f"**{record.state.value}** in {record.duration_s or 0:.1f} s"
        + (f": {record.failure}" if record.failure else ""),
        "",
        "| parameter | value |",
        "|---|---|",
        *(f"| {name} | `{value}` |" for name, value in record.parameters.items()),
        "",
        "| step | type | state | time | detail |",
        "|---|---|---|---|---|",
    ]
    for step in record.steps.values():
        took = f"{step.duration_s:.1f} s" if step.duration_s is not None else ""
        detail = (step.reason or (f"cached from {step.cached_from}" if step.cached_from else "")).replace("|", "\\|")
        lines.append(f"| {step.name} | {step.type} | {step.state.value} | {took} | {detail} |")
    for step in record.steps.values():
        lines += _metrics_section(step, record.folder)
    for step in record.steps.values():
        for name, artifact in step.outputs.items():
            embedded = artifact.path / "report.md"
            if embedded.is_file():
                lines += [
                    "",
                    f"## {step.name}: {name}",
                    "",
                    _relink(embedded.read_text(), artifact.path, record.folder),
                ]
    path = record.folder / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _metrics_section(step: StepRecord, folder: Path) -> list[str]:
    """The step's metrics as a chart (an SVG beside report.md) and a table, an epoch a row."""
    if not step.metrics:
        return []
    chart = f"{step.name}-metrics.svg"
    (folder / chart).write_text(metrics_svg(step.metrics))
    rows = []
    for epoch in range(max(len(values) for values in step.metrics.values())):
        cells = [f"{values[epoch]:.4f}" if epoch < len(values) else "" for values in step.metrics.values()]
        rows.append("| " + " | ".join([str(epoch + 1), *cells]) + " |")
    header = "| " + " | ".join(["epoch", *step.metrics]) + " |"
    return [
        "",
        f"## {step.name}: metrics",
        "",
        f"![{step.name} metrics]({chart})",
        "",
        header,
        "|" + "---|" * (len(step.metrics) + 1),
        *rows,
    ]


def _relink(markdown: str, source: Path, target: Path) -> str:
    """Point a report's relative links (its plots) at the same files from the run folder."""
    prefix = os.path.relpath(source, target)

    def rewrite(match: re.Match[str]) -> str:
        link = match.group(2)
        if "://" in link or link.startswith(("/", "#")):
            return match.group(0)
        return f"{match.group(1)}{prefix}/{link}{match.group(3)}"

    return LINK.sub(rewrite, markdown.replace("\n# ", "\n### ").removeprefix("# "))
