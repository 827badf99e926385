"""A step's metrics read from its log with the regexes its spec declares, as SageMaker reads MetricDefinitions."""

import re
from collections.abc import Sequence
from pathlib import Path

from deepfake.components.spec import MetricSpec


def read_metrics(log: Path, metrics: Sequence[MetricSpec]) -> dict[str, list[float]]:
    """Each metric's values in the order the log printed them (for training: one an epoch)."""
    if not metrics or not log.is_file():
        return {}
    patterns = [(metric.name, re.compile(metric.regex)) for metric in metrics]
    values: dict[str, list[float]] = {metric.name: [] for metric in metrics}
    with log.open(errors="replace") as lines:
        for line in lines:
            for name, pattern in patterns:
                found = pattern.search(line)
                if found:
                    try:
                        values[name].append(float(found.group(1)))
                    except ValueError:
                        continue
    return {name: series for name, series in values.items() if series}


def metrics_svg(series: dict[str, list[float]], width: int = 480, height: int = 240) -> str:
    """A line chart of every series against its index (the epoch), one colour each, with a legend; no dependency."""
    colours = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
    margin, legend = 36, 16 * len(series)
    values = [value for points in series.values() for value in points]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    count = max(len(points) for points in series.values())
    inner_w, inner_h = width - 2 * margin, height - 2 * margin - legend

    def point(index: int, value: float) -> str:
        x = margin + (inner_w * index / (count - 1) if count > 1 else inner_w / 2)
        y = margin + legend + inner_h * (1 - (value - low) / span)
        return f"{x:.1f},{y:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif"'
        ' font-size="11">',
        f'<rect x="{margin}" y="{margin + legend}" width="{inner_w}" height="{inner_h}" fill="none" stroke="#999"/>',
        f'<text x="4" y="{margin + legend + 4}">{high:.3g}</text>',
        f'<text x="4" y="{height - margin}">{low:.3g}</text>',
        f'<text x="{width - margin - 60}" y="{height - 8}">epoch 1-{count}</text>',
    ]
    for number, (name, points) in enumerate(series.items()):
        colour = colours[number % len(colours)]
        line = " ".join(point(index, value) for index, value in enumerate(points))
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{margin}" y="{margin + 12 + 16 * number}" fill="{colour}">{name}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
