"""The SageMaker target against a moto server (the `aws` fixture points boto3 at it and resets it for each test)."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml
from moto.backends import get_backend
from moto.core.models import DEFAULT_ACCOUNT_ID

from deepfake.pipelines.cli.main import main
from deepfake.pipelines.sagemaker.compiler import compile_pipeline
from deepfake.pipelines.sagemaker.execution import PROJECT_ID_TAG, PROJECT_NAME_TAG, SageMakerRunError, SageMakerRunner
from deepfake.pipelines.settings import Settings
from tests.pipelines.sagemaker.definitions import PLACEHOLDER_SETTINGS, placeholder_target
from tests.support import REPO_ROOT
from tests.toy import gated_training

REGION = "us-east-1"  # the aws fixture's
ROLE = PLACEHOLDER_SETTINGS["pipeline_role_arn"]
TOY = "tests.toy.gated_training:pipeline"
TEMPLATE_VARIABLES = (
    "SAGEMAKER_PROJECT_NAME",
    "SAGEMAKER_PROJECT_ID",
    "SAGEMAKER_PIPELINE_ROLE_ARN",
    "ARTIFACT_BUCKET",
)


class FakeClock:
    """Time for the wait loop: sleeping advances it, so a bounded wait is tested without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def runner(out: io.StringIO, clock: FakeClock | None = None, poll_seconds: float = 30) -> SageMakerRunner:
    clock = clock or FakeClock()
    return SageMakerRunner(
        REGION,
        ROLE,
        project_name="team-a",
        project_id="p-0123456789ab",
        poll_seconds=poll_seconds,
        out=out,
        sleep=clock.sleep,
        clock=clock,
    )


def moto_execution(arn: str):
    pipeline = arn.split(":pipeline/")[1].split("/execution/")[0]
    return get_backend("sagemaker")[DEFAULT_ACCOUNT_ID][REGION].pipelines[pipeline].pipeline_executions[arn]


def test_upsert_start_and_describe_an_execution(aws: str) -> None:
    compiled = compile_pipeline(gated_training.pipeline, placeholder_target(), project_name="team-a")
    out = io.StringIO()
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    target = runner(out)

    target.ensure_model_groups(compiled.model_groups)
    group = sagemaker.describe_model_package_group(ModelPackageGroupName="toy-models")
    group_tags = sagemaker.list_tags(ResourceArn=group["ModelPackageGroupArn"])["Tags"]
    assert {PROJECT_NAME_TAG: "team-a", PROJECT_ID_TAG: "p-0123456789ab"}.items() <= {
        tag["Key"]: tag["Value"] for tag in group_tags
    }.items()
    target.ensure_model_groups(compiled.model_groups)  # an existing group is left as it is

    arn = target.upsert(compiled.name, compiled.to_json(), compiled.description)
    described = sagemaker.describe_pipeline(PipelineName="team-a-toy-gated-training")
    assert (described["PipelineDefinition"], described["RoleArn"]) == (compiled.to_json(), ROLE)
    tags = {tag["Key"]: tag["Value"] for tag in sagemaker.list_tags(ResourceArn=arn)["Tags"]}
    assert tags == {PROJECT_NAME_TAG: "team-a", PROJECT_ID_TAG: "p-0123456789ab"}
    changed = compile_pipeline(gated_training.pipeline, placeholder_target(), {"Epochs": "5"}, "team-a")
    assert target.upsert(changed.name, changed.to_json()) == arn
    assert sagemaker.describe_pipeline(PipelineName=compiled.name)["PipelineDefinition"] == changed.to_json()
    assert [item["PipelineName"] for item in sagemaker.list_pipelines()["PipelineSummaries"]] == [compiled.name]

    execution = target.start(compiled.name, {"Epochs": "5"})
    parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution)
    assert parameters["PipelineParameters"] == [{"Name": "Epochs", "Value": "5"}]
    result = target.wait(execution, timeout_s=60)
    assert (result.status, result.timed_out, result.pipeline) == ("Succeeded", False, compiled.name)
    log = out.getvalue()
    assert "created model package group toy-models" in log
    assert "created pipeline team-a-toy-gated-training" in log and "updated pipeline" in log
    # moto has no ListPipelineExecutionSteps: one clear line, then the execution status only
    assert log.count("step status is not available from this endpoint (ListPipelineExecutionSteps") == 1
    assert log.rstrip().endswith("execution Succeeded")


def test_the_wait_is_bounded_and_reports_each_change(aws: str) -> None:
    compiled = compile_pipeline(gated_training.pipeline, placeholder_target())
    out, clock = io.StringIO(), FakeClock()
    target = runner(out, clock, poll_seconds=30)
    target.upsert(compiled.name, compiled.to_json())
    execution = target.start(compiled.name, {})
    moto_execution(execution).pipeline_execution_status = "Executing"

    result = target.wait(execution, timeout_s=75)
    assert (result.status, result.timed_out) == ("Executing", True)
    assert clock.sleeps == [30, 30, 15]  # never past the deadline
    assert out.getvalue().count("execution Executing") == 1

    def finish_after_one_poll(seconds: float) -> None:
        clock.sleep(seconds)
        moto_execution(execution).pipeline_execution_status = "Failed"

    target.sleep = finish_after_one_poll
    result = target.wait(execution, timeout_s=3600)
    assert (result.status, result.timed_out) == ("Failed", False)
    assert out.getvalue().rstrip().endswith("execution Failed")


def test_an_aws_error_names_the_call(aws: str) -> None:
    problem = "StartPipelineExecution for no-such-pipeline failed: ValidationException: Could not find"
    with pytest.raises(SageMakerRunError, match=problem):
        runner(io.StringIO()).start("no-such-pipeline", {})


@pytest.fixture
def sagemaker_settings(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PLACEHOLDER_SETTINGS.items():
        if name.startswith(("pipeline_", "image", "bucket")):
            monkeypatch.setenv(f"DEEPFAKE_{name.upper()}", str(value))
    monkeypatch.setenv("DEEPFAKE_REGION", REGION)
    monkeypatch.setenv("DEEPFAKE_PROJECT_NAME", "team-a")


def test_run_target_sagemaker_from_the_cli(sagemaker_settings: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", TOY, "--target", "sagemaker", "--param", "Epochs=4", "--wait-timeout", "60"]) == 0
    printed = capsys.readouterr()
    assert "team-a-toy-gated-training arn:aws:sagemaker:us-east-1:" in printed.out
    assert printed.out.rstrip().endswith(": Succeeded")
    assert "created pipeline team-a-toy-gated-training" in printed.err
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    summaries = sagemaker.list_pipeline_executions(PipelineName="team-a-toy-gated-training")
    execution = summaries["PipelineExecutionSummaries"][0]["PipelineExecutionArn"]
    parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution)
    assert parameters["PipelineParameters"] == [{"Name": "Epochs", "Value": "4"}]
    assert main(["run", TOY, "--target", "sagemaker", "--no-wait"]) == 0
    assert "started arn:aws:sagemaker" in capsys.readouterr().out


def test_a_local_input_is_refused_before_any_aws_call(
    sagemaker_settings: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "deepfake", "--target", "sagemaker", "--param", "InputData=data/demo"]) == 2
    assert "pass --param InputData=s3://<bucket>/<prefix>" in capsys.readouterr().err
    assert boto3.client("sagemaker", region_name=REGION).list_pipelines()["PipelineSummaries"] == []


def test_compile_writes_the_definition(sagemaker_settings: None, tmp_path: Path) -> None:
    out = tmp_path / "definition.json"
    assert main(["compile", TOY, "--out", str(out), "--param", "Epochs=7"]) == 0
    expected = compile_pipeline(gated_training.pipeline, placeholder_target(region=REGION), {"Epochs": "7"})
    assert out.read_text() == expected.to_json()


QUICKSTART = "examples/quickstart/pipeline.py:pipeline"


@pytest.mark.slow  # a whole run or compile in a subprocess
def test_the_local_target_never_imports_the_sagemaker_sdk(tmp_path: Path) -> None:
    script = (
        "import sys; from deepfake.pipelines.cli.main import main; "
        f"code = main(['run', {QUICKSTART!r}, '--runs-dir', {str(tmp_path)!r}, '--quiet']); "
        "sys.exit(code or ('sagemaker' in sys.modules and 'sagemaker was imported'))"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_codebuild_buildspec_runs_the_sagemaker_target_with_the_project_settings() -> None:
    spec = yaml.safe_load((REPO_ROOT / "codebuild-buildspec.yml").read_text())
    install = " ".join(spec["phases"]["install"]["commands"])
    build = spec["phases"]["build"]["commands"]
    assert '".[sagemaker]"' in install and "make install" not in install, "compiling needs the SDK, not torch"
    assert any("run deepfake --target sagemaker" in command for command in build)
    exported = {
        command.split("=", 1)[0].removeprefix("export ").strip(): command.split("=", 1)[1]
        for command in build
        if command.startswith("export DEEPFAKE_")
    }
    settings = {f"DEEPFAKE_{name.upper()}" for name in Settings.model_fields}
    assert set(exported) <= settings, set(exported) - settings
    for variable in TEMPLATE_VARIABLES:
        assert any(variable in value for value in exported.values()), variable


@pytest.mark.slow
def test_the_buildspec_commands_compile_with_the_project_environment(tmp_path: Path) -> None:
    """The build phase's commands but the run, by bash as CodeBuild would, in a scratch folder; `python` is this
    environment's."""
    spec = yaml.safe_load((REPO_ROOT / "codebuild-buildspec.yml").read_text())
    commands = [command for command in spec["phases"]["build"]["commands"] if "--target sagemaker" not in command]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "DEEPFAKE_", "SAGEMAKER_"))}
    env |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
        "HOME": str(tmp_path),
        "AWS_REGION": "eu-west-1",
        "CODEBUILD_BUILD_ARN": "arn:aws:codebuild:eu-west-1:210987654321:build/deepfake-build:0b1c",
        "SAGEMAKER_PROJECT_NAME": "team-a",
        "SAGEMAKER_PROJECT_ID": "p-0123456789ab",
        "SAGEMAKER_PIPELINE_ROLE_ARN": "arn:aws:iam::210987654321:role/team-a-pipeline",
        "ARTIFACT_BUCKET": "team-a-artifacts",
    }
    script = "set -euo pipefail\n" + "\n".join(commands)
    completed = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    definition = json.loads((tmp_path / "build" / "pipeline-definition.json").read_text())
    text = json.dumps(definition)
    assert "210987654321.dkr.ecr.eu-west-1.amazonaws.com/deepfake/train-classifier:" in text
    assert '"arn:aws:iam::210987654321:role/team-a-pipeline"' in text and '"team-a-artifacts"' in text
    data = next(item for item in definition["Parameters"] if item["Name"] == "InputData")
    assert data["DefaultValue"] == "s3://team-a-artifacts/datasets/deepfake"


def test_make_pipeline_run_passes_the_target_and_skips_the_demo_data_on_sagemaker() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "pipeline-run", "TARGET=sagemaker", "DATA=s3://team-a-data/videos", "PARAMS=Epochs=3"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert dry_run.returncode == 0, dry_run.stderr
    assert (
        "-m deepfake.pipelines run deepfake --target sagemaker --param InputData=s3://team-a-data/videos"
        in dry_run.stdout
    )
    assert "--param Epochs=3" in dry_run.stdout
    assert "deepfake.pipelines.demo.dataset" not in dry_run.stdout
