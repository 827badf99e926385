from pathlib import Path

from deepfake.pipelines.local.report import _relink


def test_a_step_report_links_its_plots_from_the_run_folder(tmp_path: Path) -> None:
    source, run = tmp_path / "a/evaluate/outputs/evaluation", tmp_path / "b"
    markdown = "# Evaluation\n\n![ROC](roc.png) [site](https://example.org) [top](#metrics) ![abs](/x.png)\n"
    assert _relink(markdown, source, run) == (
        "Evaluation\n\n![ROC](../a/evaluate/outputs/evaluation/roc.png) [site](https://example.org) [top](#metrics)"
        " ![abs](/x.png)\n"
    )
