import io
from pathlib import Path

import pytest

from deepfake.deploy.cli import main as deploy_main
from deepfake.pipelines import Pipeline, PipelineDefinitionError, ge
from deepfake.pipelines.local.records import StepState
from deepfake.pipelines.local.runner import LocalRunner
from examples.quickstart import generate_numbers, summarize_numbers
from tests.toy import fit_mean, use_model


def gated_pipeline() -> Pipeline:
    pipeline = Pipeline("gated")
    epochs = pipeline.parameter("Epochs", int, 2)
    min_mean = pipeline.parameter("MinMean", float, 0.1)
    status = pipeline.parameter("ApprovalStatus", str, "PendingManualApproval")
    numbers = pipeline.step("generate", generate_numbers.COMPONENT, params={"count": 50}).output("numbers")
    fit = pipeline.step("fit", fit_mean.COMPONENT, params={"epochs": epochs}, inputs={"train": numbers})
    report = pipeline.step("use", use_model.COMPONENT, inputs={"model": fit.output("model")})
    mean = report.report_value("report", "report.json", "mean")
    register = pipeline.register(
        "register",
        model=fit.output("model"),
        metrics=report.output("report"),
        metrics_file="report.json",
        model_group="toy-models",
        image="tests/serve",
        approval_status=status,
    )
    low = pipeline.fail("too-low", ["mean", mean, "is below", min_mean])
    pipeline.condition("gate", ge(mean, min_mean), if_true=[register], if_false=[low])
    return pipeline


def test_a_passing_gate_registers_the_model_once(tmp_path: Path) -> None:
    runner = LocalRunner(tmp_path / "runs", out=io.StringIO())
    record = runner.run(gated_pipeline())
    assert record.state is StepState.SUCCEEDED, record.failure
    assert record.steps["gate"].reason is not None
    assert record.steps["gate"].reason.startswith("condition is true: mean=0.5748")
    assert record.steps["gate"].reason.endswith(">= MinMean=0.1")
    assert record.steps["register"].reason == "toy-models version 1 (PendingManualApproval)"
    package = runner.registry.get("toy-models", 1)
    assert Path(package.model_data).name == "model.tar.gz" and package.image == "tests/serve"
    assert package.metrics["model"]["epochs"] == 2
    again = runner.run(gated_pipeline())
    assert again.steps["register"].state is StepState.CACHED
    assert again.steps["register"].reason == "toy-models version 1 (PendingManualApproval)"
    changed = runner.run(gated_pipeline(), {"Epochs": "3", "ApprovalStatus": "Approved"})
    assert changed.steps["register"].reason == "toy-models version 2 (Approved)"
    assert changed.steps["generate"].state is StepState.CACHED


def test_a_failing_gate_registers_nothing(tmp_path: Path) -> None:
    runner = LocalRunner(tmp_path / "runs", out=io.StringIO())
    record = runner.run(gated_pipeline(), {"MinMean": "0.9"})
    assert record.state is StepState.FAILED
    assert record.failure is not None and record.failure.startswith("step 'too-low' failed: mean 0.5747")
    assert record.steps["register"].state is StepState.SKIPPED
    assert runner.registry.list("toy-models") == []


def test_an_invalid_approval_status_stops_the_run_before_any_step(tmp_path: Path) -> None:
    runner = LocalRunner(tmp_path / "runs", out=io.StringIO())
    with pytest.raises(PipelineDefinitionError) as error:
        runner.run(gated_pipeline(), {"ApprovalStatus": "Yes"})
    assert str(error.value) == (
        "parameter ApprovalStatus='Yes' is not one of PendingManualApproval, Approved, Rejected"
    )
    assert not (tmp_path / "runs").exists()


def test_register_wiring_is_checked() -> None:
    pipeline = Pipeline("p")
    numbers = pipeline.step("generate", generate_numbers.COMPONENT).output("numbers")
    summary = pipeline.step("summarize", summarize_numbers.COMPONENT, inputs={"numbers": numbers}).output("summary")
    with pytest.raises(PipelineDefinitionError, match=r"'generate\.numbers' is Numbers, not a packaged model"):
        pipeline.register("register", model=numbers, metrics=summary, model_group="g", image="i")
    fit = pipeline.step("fit", fit_mean.COMPONENT, inputs={"train": numbers}).output("model")
    with pytest.raises(PipelineDefinitionError, match="approval status 'Maybe' must be one of"):
        pipeline.register("register", model=fit, metrics=summary, model_group="g", image="i", approval_status="Maybe")
    with pytest.raises(PipelineDefinitionError, match="model group 'bad group' must match"):
        pipeline.register("register", model=fit, metrics=summary, model_group="bad group", image="i")


def test_the_run_report_and_the_deploy_cli_show_the_registered_model(tmp_path: Path) -> None:
    runner = LocalRunner(tmp_path / "runs", out=io.StringIO())
    record = runner.run(gated_pipeline())
    report = (record.folder / "report.md").read_text()
    assert "| register | register | succeeded |" in report and "toy-models version 1 (PendingManualApproval)" in report
    assert "condition is true: mean=0.5748 >= MinMean=0.1" in report
    registry = ["--registry", str(tmp_path / "runs/registry"), "--group", "toy-models"]
    assert deploy_main([*registry, "approve", "1", "--no-rollout"]) == 0  # a toy model: nothing to serve
    assert runner.registry.get("toy-models", 1).status.value == "Approved"
    assert deploy_main([*registry, "approve", "5"]) == 2
