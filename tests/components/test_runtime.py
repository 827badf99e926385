import json
import subprocess
import sys
from pathlib import Path

import pytest

from deepfake.components.artifacts import pack_archive
from deepfake.components.contract import ComponentKind, ContainerLayout
from deepfake.components.runtime import main
from examples.quickstart import generate_numbers, summarize_numbers
from tests.toy import fit_mean, flaky, use_model


@pytest.fixture
def base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    return tmp_path


def write_numbers(folder: Path, values: list[float]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "numbers.jsonl").write_text("".join(json.dumps({"value": value}) + "\n" for value in values))


def test_processing_reads_arguments_and_writes_its_output_folder(base: Path) -> None:
    assert main(generate_numbers.COMPONENT, ["--count", "4", "--seed=2"]) == 0
    lines = (base / "processing/output/numbers/numbers.jsonl").read_text().splitlines()
    assert len(lines) == 4


def test_processing_input_is_read_from_its_named_folder(base: Path) -> None:
    write_numbers(base / "processing/input/numbers", [1.0, 3.0])
    assert main(summarize_numbers.COMPONENT, ["--scale", "2"]) == 0
    summary = json.loads((base / "processing/output/summary/summary.json").read_text())
    assert summary["mean"] == 4.0


def test_invalid_params_fail_before_any_work_naming_the_field(base: Path) -> None:
    assert main(generate_numbers.COMPONENT, ["--count", "0"]) == 2
    message = (base / "output/message").read_text()
    assert "parameter 'count'" in message and "greater than or equal to 1" in message
    assert not (base / "processing/output/numbers").exists()


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--count"], "--count needs a value"),
        (["count", "3"], "unexpected argument 'count'"),
        (["--count", "3", "--count", "4"], "--count is given twice"),
        (["--colour", "red"], "unknown parameter 'colour'"),
    ],
)
def test_malformed_arguments_are_explained(base: Path, argv: list[str], problem: str) -> None:
    assert main(generate_numbers.COMPONENT, argv) == 2
    assert problem in (base / "output/message").read_text()


def test_missing_required_input_is_reported(base: Path) -> None:
    assert main(summarize_numbers.COMPONENT, []) == 1
    assert "required input 'numbers' is missing" in (base / "output/message").read_text()


def test_input_of_the_wrong_shape_is_reported(base: Path) -> None:
    (base / "processing/input/numbers").mkdir(parents=True)
    assert main(summarize_numbers.COMPONENT, []) == 1
    assert "no file matches numbers.jsonl" in (base / "output/message").read_text()


def test_an_exception_leaves_the_first_kilobyte_of_its_reason(base: Path) -> None:
    write_numbers(base / "processing/input/numbers", [])
    assert main(summarize_numbers.COMPONENT, []) == 1
    assert (base / "output/message").read_text().startswith("ValueError: numbers.jsonl is empty")


def test_a_long_reason_is_cut_to_1_kb_on_a_character_boundary(base: Path) -> None:
    state = base / "state"
    write_numbers(base / "processing/input/numbers", [1.0])
    assert main(flaky.COMPONENT, ["--state-dir", str(state), "--failures", "1", "--message", "é" * 2000]) == 1
    message = (base / "output/message").read_bytes()
    assert len(message) <= 1024 and len(message) > 1000
    message.decode()


def test_training_reads_string_hyperparameters_and_writes_the_model(base: Path) -> None:
    layout = ContainerLayout(ComponentKind.TRAINING, base)
    write_numbers(layout.input_dir("train"), [1.0, 2.0])
    layout.hyperparameters_file.parent.mkdir(parents=True, exist_ok=True)
    layout.hyperparameters_file.write_text(
        json.dumps({"epochs": "3", "learning_rate": "0.01", "tags": '["a"]', "sagemaker_region": '"eu-west-1"'})
    )
    layout.resource_config_file.write_text(json.dumps({"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]}))
    assert main(fit_mean.COMPONENT, ["train"]) == 0
    model = json.loads((base / "model/model.json").read_text())
    assert model["mean"] == 1.5 and model["epochs"] == 3 and model["learning_rate"] == 0.01 and model["tags"] == ["a"]
    assert model["hosts"] == ["algo-1", "algo-2"]
    assert json.loads((base / "output/data/metrics.json").read_text()) == {"epochs": 3}


def test_training_failure_goes_to_the_failure_file(base: Path) -> None:
    layout = ContainerLayout(ComponentKind.TRAINING, base)
    layout.hyperparameters_file.parent.mkdir(parents=True)
    layout.hyperparameters_file.write_text(json.dumps({"epochs": "many"}))
    assert main(fit_mean.COMPONENT, []) == 2
    assert "parameter 'epochs'" in (base / "output/failure").read_text()
    assert not (base / "output/message").exists()


def test_training_honours_sm_environment_variables(base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    channel, model_dir = tmp_path / "elsewhere/train", tmp_path / "elsewhere/model"
    write_numbers(channel, [4.0])
    monkeypatch.setenv("SM_CHANNEL_TRAIN", str(channel))
    monkeypatch.setenv("SM_MODEL_DIR", str(model_dir))
    monkeypatch.setenv("SM_HOSTS", '["algo-1"]')
    monkeypatch.setenv("SM_CURRENT_HOST", "algo-1")
    assert main(fit_mean.COMPONENT, []) == 0
    assert json.loads((model_dir / "model.json").read_text())["mean"] == 4.0


def test_a_packed_model_input_is_unpacked_before_run(base: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.json").write_text(json.dumps({"mean": 0.25}))
    packed = base / "processing/input/model"
    packed.mkdir(parents=True)
    pack_archive(model, packed / "model.tar.gz")
    assert main(use_model.COMPONENT, []) == 0
    assert json.loads((base / "processing/output/report/report.json").read_text())["mean"] == 0.25


def test_the_entry_runs_as_a_module_in_a_real_process(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "examples.quickstart.generate_numbers", "--count", "3"],
        env={"SAGEMAKER_BASE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert len((tmp_path / "processing/output/numbers/numbers.jsonl").read_text().splitlines()) == 3
