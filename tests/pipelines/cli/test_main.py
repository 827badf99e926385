import json
import subprocess
import sys
from pathlib import Path

import pytest

from deepfake.components import load_component
from deepfake.pipelines.builtin.deepfake import pipeline as deepfake
from deepfake.pipelines.cli.main import main
from tests.toy import fit_mean

QUICKSTART = "examples/quickstart/pipeline.py:pipeline"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deepfake.pipelines", *args], capture_output=True, text=True, check=False
    )


def test_help_lists_the_commands() -> None:
    completed = run_cli("--help")
    assert completed.returncode == 0
    assert "run" in completed.stdout and "components" in completed.stdout


@pytest.mark.slow  # a whole run or compile in a subprocess
def test_run_succeeds_then_reuses_every_step(tmp_path: Path) -> None:
    first = run_cli("run", QUICKSTART, "--target", "local", "--runs-dir", str(tmp_path), "--quiet")
    assert first.returncode == 0, first.stderr
    assert "quickstart" in first.stdout and ": succeeded in" in first.stdout
    second = run_cli("run", QUICKSTART, "--runs-dir", str(tmp_path), "--quiet")
    assert "3 of 3 steps reused from cache" in second.stdout
    third = run_cli("run", QUICKSTART, "--runs-dir", str(tmp_path), "--quiet", "--param", "Scale=1.1")
    assert "1 of 3 steps reused from cache" in third.stdout


def test_a_failed_run_exits_non_zero_naming_the_step_and_reason(tmp_path: Path) -> None:
    completed = run_cli("run", QUICKSTART, "--runs-dir", str(tmp_path), "--param", "MinMean=0.99")
    assert completed.returncode == 1
    assert "FAILED: step 'mean-too-low' failed: mean 0.4" in completed.stdout
    record = json.loads(next(tmp_path.glob("quickstart/*/run.json")).read_text())
    assert record["state"] == "failed"


def test_a_dataset_in_no_known_layout_is_named_as_the_user_gave_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "my videos"
    data.mkdir()
    (data / "notes.txt").write_text("not a dataset")
    assert (
        main(["run", "deepfake", "--param", f"InputData={data}", "--runs-dir", str(tmp_path / "runs"), "--quiet"]) == 1
    )
    failure = capsys.readouterr().out.split("FAILED: ", 1)[1]
    assert failure.startswith(
        f"step 'ingest-videos' failed: ValueError: cannot tell the dataset format of InputData={data}:"
    )
    assert "set the format param (pipeline parameter DatasetFormat) to dfdc" in failure
    assert "the batch-scoring pipeline reads them" in failure and "ml/processing" not in failure


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["run", "nowhere.py:pipeline"], "no such pipeline file: nowhere.py"),
        (
            ["run", "examples.quickstart.pipeline:nothing"],
            "examples.quickstart.pipeline has no attribute 'nothing' (Pipeline objects there: pipeline)",
        ),
        (["run", "no_such_module:pipeline"], "cannot import 'no_such_module'"),
        (["run", "pipeline-without-colon"], "expected one of deepfake, batch-scoring, 'module:attribute'"),
        (["run", QUICKSTART, "--param", "Count"], "--param 'Count': expected NAME=VALUE"),
        (["run", QUICKSTART, "--param", "Colour=red"], "unknown parameter(s) Colour"),
        (["run", "deepfake", "--param", "Epochs=-1"], "Epochs=-1: -1 is less than the minimum of 1 (train-classifier"),
        (["run", "deepfake", "--param", "Architecture=resnet34"], "Architecture='resnet34' is not one of efficientnet"),
        (
            ["run", "deepfake", "--param", "FaceSize=16"],
            "FaceSize=16: 16 is less than the minimum of 32 (extract-faces",
        ),
        (["run", "deepfake", "--param", "DatasetFormat=unlabeled"], "are scored by the batch-scoring pipeline"),
        (["describe", "nowhere.py:pipeline"], "no such pipeline file: nowhere.py"),
    ],
)
def test_user_errors_exit_2_with_a_message(args: list[str], problem: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    assert problem in capsys.readouterr().err


def test_components_list_shows_each_component(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["components", "list", "--package", "tests.toy"]) == 0
    listed = capsys.readouterr().out
    assert "fit-mean" in listed and "training" in listed and "in: train:Numbers  out: model:ToyModel" in listed
    assert "flaky" in listed and "use-model" in listed


def test_components_export_writes_loadable_specs(tmp_path: Path) -> None:
    assert main(["components", "export", str(tmp_path), "--package", "tests.toy"]) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["fit-mean.json", "flaky.json", "use-model.json"]
    assert load_component(tmp_path / "fit-mean.json", version="1.0.0") == fit_mean.COMPONENT.spec


def test_a_runs_folder_that_cannot_be_written_is_one_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = tmp_path / "runs"
    blocked.write_text("a file where the runs folder should be")
    assert main(["run", QUICKSTART, "--runs-dir", str(blocked), "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"error: cannot write the run under {blocked} (")
    assert error.endswith("set DEEPFAKE_RUNS_DIR or --runs-dir to a writable folder") and "\n" not in error


def test_describe_lists_every_parameter_with_its_default_choices_and_what_it_sets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["describe", "deepfake"]) == 0
    text = capsys.readouterr().out
    for name in deepfake.parameters:
        assert f"\n  {name} " in text
    assert "one of: auto, dfdc, faceforensics, celeb-df, csv" in text
    assert "→ extract-faces.face_size, train-classifier.image_size" in text
    assert main(["describe", "deepfake", "--markdown"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert [row.split(" | ")[0] for row in rows] == [f"| `{name}`" for name in deepfake.parameters]
