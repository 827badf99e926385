import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deepfake.components.contract import ComponentKind, ContainerLayout
from deepfake.pipelines import Pipeline, PipelineDefinitionError, RetryPolicy, ge
from deepfake.pipelines.local.records import RunRecord, StepState
from deepfake.pipelines.local.runner import LocalRunner, in_pipeline_terms
from examples.quickstart import generate_numbers, summarize_numbers
from examples.quickstart.pipeline import pipeline as quickstart
from tests.toy import fit_mean, flaky, use_model


class Recorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def runner(tmp_path: Path) -> LocalRunner:
    return LocalRunner(tmp_path / "runs", out=io.StringIO(), sleep=Recorder())


def states(record: RunRecord) -> dict[str, StepState]:
    return {name: step.state for name, step in record.steps.items()}


def test_quickstart_runs_every_step_and_records_it(runner: LocalRunner) -> None:
    record = runner.run(quickstart)
    assert record.state is StepState.SUCCEEDED, record.failure
    assert states(record) == {
        "generate": StepState.SUCCEEDED,
        "summarize": StepState.SUCCEEDED,
        "check-mean": StepState.SUCCEEDED,
        "publish": StepState.SUCCEEDED,
        "mean-too-low": StepState.SKIPPED,
    }
    saved = RunRecord.model_validate_json((record.folder / "run.json").read_text())
    assert saved.steps["check-mean"].outcome is True
    report = saved.steps["publish"].outputs["report"].path / "report.md"
    assert report.read_text().startswith("# Numbers")
    assert (record.folder / "generate/step.log").read_text().count("generate-numbers 1.0.0") == 1
    assert "publish                  succeeded" in runner.out.getvalue()


def test_a_second_run_reuses_every_step_and_a_param_change_reruns_only_its_dependants(runner: LocalRunner) -> None:
    first = runner.run(quickstart)
    second = runner.run(quickstart)
    assert [step.state for step in second.steps.values() if step.type == "processing"] == [StepState.CACHED] * 3
    assert second.steps["summarize"].outputs == first.steps["summarize"].outputs
    third = runner.run(quickstart, {"Scale": "1.5"})
    assert states(third)["generate"] is StepState.CACHED
    assert states(third)["summarize"] is StepState.SUCCEEDED
    assert states(third)["publish"] is StepState.SUCCEEDED


def test_a_false_condition_runs_the_fail_step_quoting_the_value(runner: LocalRunner) -> None:
    record = runner.run(quickstart, {"MinMean": "0.9"})
    assert record.state is StepState.FAILED
    assert states(record)["publish"] is StepState.SKIPPED
    assert record.steps["publish"].reason == "condition 'check-mean' is false"
    assert record.failure is not None
    assert record.failure.startswith("step 'mean-too-low' failed: mean 0.4")
    assert record.failure.endswith("is below MinMean 0.9")


def flaky_pipeline(failures: int, retry: RetryPolicy, state_dir: Path) -> Pipeline:
    pipeline = Pipeline("flaky")
    numbers = pipeline.step("generate", generate_numbers.COMPONENT, params={"count": 5}).output("numbers")
    unstable = pipeline.step(
        "flaky",
        flaky.COMPONENT,
        params={"state_dir": str(state_dir), "failures": failures},
        inputs={"numbers": numbers},
        retry=retry,
    )
    pipeline.step("after", summarize_numbers.COMPONENT, inputs={"numbers": unstable.output("numbers")})
    pipeline.step("independent", summarize_numbers.COMPONENT, inputs={"numbers": numbers})
    return pipeline


def test_a_failing_step_stops_its_dependants_with_the_reason_from_its_failure_file(
    runner: LocalRunner, tmp_path: Path
) -> None:
    record = runner.run(flaky_pipeline(5, RetryPolicy(), tmp_path / "state"))
    assert record.state is StepState.FAILED
    assert record.failure == "step 'flaky' failed: RuntimeError: flaky failure (attempt 1)"
    assert states(record)["after"] is StepState.SKIPPED
    assert record.steps["after"].reason == "upstream step 'flaky' failed"
    assert states(record)["independent"] is StepState.SUCCEEDED


def test_retries_until_an_attempt_succeeds_with_backoff(runner: LocalRunner, tmp_path: Path) -> None:
    retry = RetryPolicy(max_attempts=3, interval_seconds=0.5, backoff_rate=2)
    record = runner.run(flaky_pipeline(2, retry, tmp_path / "state"))
    assert record.state is StepState.SUCCEEDED, record.failure
    attempts = record.steps["flaky"].attempts
    assert [attempt.exit_code for attempt in attempts] == [1, 1, 0]
    assert attempts[0].reason == "RuntimeError: flaky failure (attempt 1)"
    assert runner.sleep.delays == [0.5, 1.0]


def test_retries_give_up_after_max_attempts(runner: LocalRunner, tmp_path: Path) -> None:
    record = runner.run(flaky_pipeline(3, RetryPolicy(max_attempts=2, interval_seconds=0), tmp_path / "state"))
    assert record.failure == "step 'flaky' failed: RuntimeError: flaky failure (attempt 2)"
    assert len(record.steps["flaky"].attempts) == 2


def training_pipeline() -> Pipeline:
    pipeline = Pipeline("training")
    epochs = pipeline.parameter("Epochs", int, 2)
    numbers = pipeline.step("generate", generate_numbers.COMPONENT, params={"count": 50}).output("numbers")
    fit = pipeline.step(
        "fit",
        fit_mean.COMPONENT,
        params={"epochs": epochs, "tags": ["a", "b"], "note": None},
        inputs={"train": numbers},
        retry=RetryPolicy(max_attempts=2, interval_seconds=0),
    )
    use = pipeline.step("use", use_model.COMPONENT, inputs={"model": fit.output("model")})
    pipeline.condition("sane", ge(use.report_value("report", "report.json", "model.epochs"), epochs))
    return pipeline


def test_training_step_gets_string_hyperparameters_and_its_model_travels_packed(runner: LocalRunner) -> None:
    record = runner.run(training_pipeline(), {"Epochs": "4"})
    assert record.state is StepState.SUCCEEDED, record.failure
    hyperparameters = json.loads((record.folder / "fit/ml/input/config/hyperparameters.json").read_text())
    assert hyperparameters == {"epochs": "4", "tags": '["a", "b"]', "note": "null"}
    assert [path.name for path in record.steps["fit"].outputs["model"].path.iterdir()] == ["model.tar.gz"]
    report = json.loads((record.steps["use"].outputs["report"].path / "report.json").read_text())
    assert report["model"]["epochs"] == 4 and report["model"]["tags"] == ["a", "b"]
    assert record.steps["sane"].outcome is True


def test_the_metrics_a_spec_declares_are_read_from_the_log_into_the_record_and_the_report(
    runner: LocalRunner,
) -> None:
    record = runner.run(training_pipeline(), {"Epochs": "4"})
    expected = [1.0, 0.5, 0.3333, 0.25]
    assert record.steps["fit"].metrics == {"loss": expected}
    saved = RunRecord.model_validate_json((record.folder / "run.json").read_text())
    assert saved.steps["fit"].metrics == {"loss": expected}
    report = (record.folder / "report.md").read_text()
    assert "## fit: metrics" in report and "![fit metrics](fit-metrics.svg)" in report
    assert "| epoch | loss |" in report and "| 4 | 0.2500 |" in report
    chart = (record.folder / "fit-metrics.svg").read_text()
    assert chart.startswith("<svg") and chart.count("<polyline") == 1 and ">loss</text>" in chart
    assert not record.steps["use"].metrics, "a component that declares no metrics gets none"
    again = runner.run(training_pipeline(), {"Epochs": "4"})
    assert again.steps["fit"].state is StepState.CACHED
    assert again.steps["fit"].metrics == {"loss": expected}, "a reused step keeps the metrics of the run that made it"


def test_a_retried_training_step_finds_its_checkpoints(runner: LocalRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIT_MEAN_FAIL_ONCE", "1")
    record = runner.run(training_pipeline())
    assert record.state is StepState.SUCCEEDED, record.failure
    assert [attempt.exit_code for attempt in record.steps["fit"].attempts] == [1, 0]
    assert (record.folder / "fit/checkpoints/runs.txt").read_text() == "xx"


def external_input_pipeline() -> Pipeline:
    pipeline = Pipeline("external")
    data = pipeline.parameter("Data", str, "data/none")
    pipeline.step("summarize", summarize_numbers.COMPONENT, inputs={"numbers": data})
    return pipeline


def test_external_inputs_are_cached_by_content(runner: LocalRunner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "numbers.jsonl").write_text('{"value": 1.0}\n')
    arguments = {"Data": str(data)}
    assert states(runner.run(external_input_pipeline(), arguments))["summarize"] is StepState.SUCCEEDED
    (data / "numbers.jsonl").touch()
    assert states(runner.run(external_input_pipeline(), arguments))["summarize"] is StepState.CACHED
    (data / "numbers.jsonl").write_text('{"value": 2.0}\n')
    assert states(runner.run(external_input_pipeline(), arguments))["summarize"] is StepState.SUCCEEDED


def test_a_missing_external_input_is_explained(runner: LocalRunner, tmp_path: Path) -> None:
    record = runner.run(external_input_pipeline(), {"Data": str(tmp_path / "nowhere")})
    assert record.failure is not None
    assert "parameter Data=" in record.failure and "pass --param Data=<folder or s3://bucket/prefix>" in record.failure


def test_an_external_input_of_the_wrong_shape_is_explained(runner: LocalRunner, tmp_path: Path) -> None:
    record = runner.run(external_input_pipeline(), {"Data": str(tmp_path)})
    assert record.failure is not None and "no file matches numbers.jsonl" in record.failure


def test_caching_can_be_turned_off_per_step_and_per_run(tmp_path: Path) -> None:
    pipeline = Pipeline("no-cache")
    numbers = pipeline.step("generate", generate_numbers.COMPONENT).output("numbers")
    pipeline.step("summarize", summarize_numbers.COMPONENT, inputs={"numbers": numbers}, cache=False)
    runner = LocalRunner(tmp_path / "runs", out=io.StringIO())
    runner.run(pipeline)
    again = runner.run(pipeline)
    assert states(again) == {"generate": StepState.CACHED, "summarize": StepState.SUCCEEDED}
    fresh = LocalRunner(tmp_path / "runs", out=io.StringIO(), use_cache=False).run(pipeline)
    assert states(fresh) == {"generate": StepState.SUCCEEDED, "summarize": StepState.SUCCEEDED}


def test_a_cache_entry_whose_outputs_were_deleted_is_not_used(runner: LocalRunner) -> None:
    first = runner.run(quickstart)
    for artifact in first.steps["generate"].outputs.values():
        for file in artifact.path.iterdir():
            file.unlink()
        artifact.path.rmdir()
    assert states(runner.run(quickstart))["generate"] is StepState.SUCCEEDED


def test_a_moved_runs_folder_keeps_its_step_cache(runner: LocalRunner, tmp_path: Path) -> None:
    assert runner.run(quickstart).state is StepState.SUCCEEDED
    shutil.move(tmp_path / "runs", tmp_path / "moved")
    again = LocalRunner(tmp_path / "moved", out=io.StringIO()).run(quickstart)
    assert {states(again)[name] for name in ("generate", "summarize", "publish")} == {StepState.CACHED}
    assert again.steps["publish"].outputs["report"].path.is_relative_to((tmp_path / "moved").resolve())


def test_pipeline_arguments_are_checked(runner: LocalRunner) -> None:
    with pytest.raises(PipelineDefinitionError, match=r"unknown parameter\(s\) Cuont; quickstart takes: Count"):
        runner.run(quickstart, {"Cuont": "3"})
    with pytest.raises(PipelineDefinitionError, match="parameter Count='many' is not a valid Integer"):
        runner.run(quickstart, {"Count": "many"})


def test_a_parameter_value_the_component_refuses_stops_the_run_before_any_step(runner: LocalRunner) -> None:
    with pytest.raises(PipelineDefinitionError) as error:
        runner.run(quickstart, {"Count": "0"})
    assert str(error.value) == "parameter Count=0: 0 is less than the minimum of 1 (generate count)"
    assert not (runner.runs_dir / quickstart.name).exists()


def test_a_failure_reason_names_the_users_parameters_not_the_contract_folders(tmp_path: Path) -> None:
    pipeline = Pipeline("p")
    data, note = pipeline.parameter("Data", str, "numbers/"), pipeline.parameter("Note", str, "x")
    step = pipeline.step("flaky", flaky.COMPONENT, params={"state_dir": "s", "message": note}, inputs={"numbers": data})
    layout = ContainerLayout(ComponentKind.PROCESSING, tmp_path / "flaky" / "ml")
    reason = (
        f"no numbers in {layout.input_dir('numbers')} (in docker: /opt/ml/processing/input/numbers/a.jsonl);"
        " set the message param or the state_dir param"
    )
    assert in_pipeline_terms(reason, step, layout, {"Data": "my/numbers", "Note": "x"}) == (
        "no numbers in Data=my/numbers (in docker: Data=my/numbers/a.jsonl);"
        " set the message param (pipeline parameter Note) or the state_dir param"
    )


@pytest.mark.timeout(60)
def test_hashing_an_input_never_opens_what_leaves_it_blocks_or_loops(runner: LocalRunner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "numbers.jsonl").write_text('{"value": 1.0}\n')
    secret = tmp_path / "secret.txt"
    secret.write_text("one")
    (data / "outside").symlink_to(secret)
    (data / "zero").symlink_to("/dev/zero")
    (data / "dangling").symlink_to(tmp_path / "gone")
    (data / "loop").symlink_to(data / "loop")
    (data / "folder-link").symlink_to(tmp_path, target_is_directory=True)
    os.mkfifo(data / "pipe")
    record = runner.run(external_input_pipeline(), {"Data": str(data)})
    assert record.state is StepState.SUCCEEDED, record.failure
    saved = RunRecord.model_validate_json((record.folder / "run.json").read_text())
    assert saved.state is StepState.SUCCEEDED and saved.pid is None
    secret.write_text("two")  # a file outside the input is no part of its content
    assert states(runner.run(external_input_pipeline(), {"Data": str(data)}))["summarize"] is StepState.CACHED


def test_a_run_whose_runner_was_killed_is_marked_interrupted_by_the_next_run(
    runner: LocalRunner, tmp_path: Path
) -> None:
    first = runner.run(external_input_pipeline(), {"Data": str(tmp_path / "nowhere")})
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = first.model_copy(update={"state": StepState.RUNNING, "pid": gone.pid, "failure": None})
    stale.steps["summarize"].state = StepState.RUNNING
    stale.save()
    runner.run(external_input_pipeline(), {"Data": str(tmp_path / "nowhere")})
    marked = RunRecord.model_validate_json((first.folder / "run.json").read_text())
    assert marked.state is StepState.INTERRUPTED and marked.pid is None
    assert marked.failure == f"interrupted: the runner (pid {gone.pid}) stopped before the run ended"
    assert marked.steps["summarize"].state is StepState.INTERRUPTED


def test_a_run_whose_runner_is_alive_is_left_running(runner: LocalRunner, tmp_path: Path) -> None:
    first = runner.run(external_input_pipeline(), {"Data": str(tmp_path / "nowhere")})
    first.model_copy(update={"state": StepState.RUNNING, "pid": os.getpid()}).save()
    runner.run(external_input_pipeline(), {"Data": str(tmp_path / "nowhere")})
    assert RunRecord.model_validate_json((first.folder / "run.json").read_text()).state is StepState.RUNNING
