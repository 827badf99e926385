"""The evaluation's plots and its Markdown report, which the pipeline shows to users next to evaluation.json."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from deepfake.components.evaluate_model.metrics import SCALAR_METRICS
from deepfake.components.manifests import LABEL_NAMES

ROC_IMAGE = "roc.png"
ROBUSTNESS_IMAGE = "robustness.png"
CONFUSION_IMAGE = "confusion_matrix.png"
REPORT_FILE = "report.md"
DPI = 120
METRIC_TITLES = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "auc": "ROC AUC",
    "average_precision": "Average precision (FAKE)",
    "equal_error_rate": "Equal error rate",
    "expected_calibration_error": "Expected calibration error (10 bins)",
    "precision": "Precision (FAKE)",
    "recall": "Recall (FAKE)",
    "f1": "F1 (FAKE)",
    "log_loss": "Log loss",
    "true_positive_rate": "True positive rate",
    "true_negative_rate": "True negative rate",
    "false_positive_rate": "False positive rate (REAL called FAKE)",
    "false_negative_rate": "False negative rate (FAKE called REAL)",
}


def plot_roc(path: Path, curves: Mapping[str, Mapping[str, Any]]) -> None:
    """One ROC curve per level ("video", "frame"), each from its `binary_classification_metrics`."""
    figure = _figure((5.5, 5))
    axes = figure.add_subplot()
    # Straight lines between roc_curve's points: a diagonal segment is the right reading of tied scores.
    for level, metrics in curves.items():
        curve = metrics["receiver_operating_characteristic_curve"]
        auc = metrics["auc"]["value"]
        axes.plot(
            curve["false_positive_rates"],
            curve["true_positive_rates"],
            label=f"{level} level (AUC {auc:.3f})",
        )
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="chance (AUC 0.5)")
    axes.set(
        xlim=(-0.01, 1.01), ylim=(-0.01, 1.02), xlabel="False positive rate", ylabel="True positive rate", title="ROC"
    )
    axes.legend(loc="lower right")
    figure.savefig(path, dpi=DPI, bbox_inches="tight")


def plot_confusion(path: Path, matrix: Mapping[str, Mapping[str, int]], title: str) -> None:
    """Rows are the actual label, columns the predicted one, as in SageMaker's confusion_matrix."""
    labels = sorted(LABEL_NAMES)
    counts = [[matrix[str(actual)][str(predicted)] for predicted in labels] for actual in labels]
    figure = _figure((4.5, 4))
    axes = figure.add_subplot()
    image = axes.imshow(counts, cmap="Blues", vmin=0)
    figure.colorbar(image, ax=axes)
    ceiling = max(max(row) for row in counts)
    for row, values in enumerate(counts):
        for column, count in enumerate(values):
            colour = "white" if ceiling and count > ceiling / 2 else "black"
            axes.text(column, row, str(count), ha="center", va="center", color=colour, fontsize=14)
    names = [LABEL_NAMES[label] for label in labels]
    axes.set_xticks(range(len(labels)), names)
    axes.set_yticks(range(len(labels)), names)
    axes.set(xlabel="Predicted", ylabel="Actual", title=title)
    figure.savefig(path, dpi=DPI, bbox_inches="tight")


def plot_robustness(path: Path, sets: Mapping[str, Mapping[str, Any]]) -> None:
    """AUC and accuracy (± one deviation) of each measurable set, the clean test split first."""
    measured = {name: found for name, found in sets.items() if found.get("measurable", True)}
    figure = _figure((max(5.0, 1.1 * len(measured) + 2), 4))
    axes = figure.add_subplot()
    positions = range(len(measured))
    for offset, metric in ((-0.2, "auc"), (0.2, "accuracy")):
        axes.bar(
            [position + offset for position in positions],
            [found[metric]["value"] for found in measured.values()],
            width=0.4,
            yerr=[found[metric]["standard_deviation"] for found in measured.values()],
            label=METRIC_TITLES[metric],
        )
    axes.set_xticks(list(positions), list(measured))
    axes.set(ylim=(0, 1.05), ylabel="video level", title="Test split, its perturbations and extra test sets")
    axes.legend(loc="lower left")
    figure.savefig(path, dpi=DPI, bbox_inches="tight")


def write_report(path: Path, document: Mapping[str, Any]) -> None:
    """report.md from the evaluation.json document, so the two can never disagree."""
    about = document["evaluation"]
    video = document["binary_classification_metrics"]
    frame = document["frame_level"]["binary_classification_metrics"]
    spread = about["bootstrap_samples"] > 0
    lines = [
        f"# Model evaluation: {about['split']} split",
        "",
        f"Model `{about['model_version']}` ({about['architecture']}). A video is FAKE when the {about['aggregation']}"
        f" of its faces' probability_fake is at or above {about['threshold']:g}.",
        "",
        "| | REAL | FAKE | total |",
        "|---|---:|---:|---:|",
        *(
            f"| {unit} | {about[unit]['REAL']} | {about[unit]['FAKE']} | {about[unit]['REAL'] + about[unit]['FAKE']} |"
            for unit in ("videos", "faces")
        ),
        "",
        "## Metrics",
        "",
        _deviation_note(about["bootstrap_samples"]),
        "",
        "| Metric | Video level | Frame level |",
        "|---|---:|---:|",
        *(
            f"| {METRIC_TITLES[name]} | {_cell(video[name], spread)} | {_cell(frame[name], spread)} |"
            for name in SCALAR_METRICS
        ),
        "",
        "## Confusion matrix (video level)",
        "",
        "| actual \\ predicted | REAL | FAKE |",
        "|---|---:|---:|",
        *(
            f"| {LABEL_NAMES[actual]} | {video['confusion_matrix'][str(actual)]['0']} |"
            f" {video['confusion_matrix'][str(actual)]['1']} |"
            for actual in sorted(LABEL_NAMES)
        ),
        "",
        f"![Confusion matrix, video level]({CONFUSION_IMAGE})",
        "",
        "## ROC curves",
        "",
        f"![ROC curves, video and frame level]({ROC_IMAGE})",
        "",
        *_methods_section(document.get("by_method", {}), spread, "By manipulation method (test split)"),
        *_sets_section(document, spread),
    ]
    path.write_text("\n".join(lines))


def _methods_section(methods: Mapping[str, Any], spread: bool, title: str) -> list[str]:
    if not methods:
        return []
    rows = [
        f"| {name} | {found['videos']['FAKE']} | {_cell(found['auc'], spread)} | {found['recall']:.4f} |"
        for name, found in methods.items()
    ]
    return [
        f"## {title}",
        "",
        "Each method's fakes against every real video.",
        "",
        "| Method | FAKE videos | ROC AUC | Recall |",
        "|---|---:|---:|---:|",
        *rows,
        "",
    ]


def _sets_section(document: Mapping[str, Any], spread: bool) -> list[str]:
    sets = {**document.get("robustness", {}), **document.get("extra_test", {})}
    if not sets:
        return []
    found = document["summary"]
    rows = []
    for name, metrics in sets.items():
        videos = metrics["videos"]["REAL"] + metrics["videos"]["FAKE"]
        if not metrics["measurable"]:
            rows.append(f"| {name} | {videos} | one class only | | |")
            continue
        drop = f"{metrics['auc_drop']:+.4f}" if "auc_drop" in metrics else ""
        rows.append(
            f"| {name} | {videos} | {_cell(metrics['auc'], spread)} | {_cell(metrics['accuracy'], spread)} | {drop} |"
        )
    lines = [
        "## Robustness and extra test sets",
        "",
        f"Worst AUC {found['worst_auc']:.4f} ({found['worst_auc_set']}); worst accuracy {found['worst_accuracy']:.4f}.",
        "",
        "| Set | Videos | ROC AUC | Accuracy | AUC drop from test |",
        "|---|---:|---:|---:|---:|",
        *rows,
        "",
        f"![AUC and accuracy of each set]({ROBUSTNESS_IMAGE})",
        "",
    ]
    for name, metrics in document.get("extra_test", {}).items():
        lines += _methods_section(metrics.get("by_method", {}), spread, f"By manipulation method ({name})")
    return lines


def _figure(size: tuple[float, float]) -> Figure:
    """A figure on the Agg canvas directly: no pyplot state, no display needed."""
    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _cell(metric: Mapping[str, float], spread: bool) -> str:
    if spread:
        return f"{metric['value']:.4f} ± {metric['standard_deviation']:.4f}"
    return f"{metric['value']:.4f}"


def _deviation_note(samples: int) -> str:
    if samples == 0:
        return "Standard deviations are off (bootstrap_samples=0)."
    return (
        f"Values ± one standard deviation over {samples} bootstrap resamples (of videos at video level, of faces at"
        " frame level), stratified by label."
    )
