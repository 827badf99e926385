"""The deepfake pipeline under the SageMaker SDK's own local mode agrees with the local runner on the same data."""

import io
import json
from pathlib import Path

import boto3
import pytest

from deepfake.pipelines.builtin.deepfake import build_pipeline
from deepfake.pipelines.cli.main import main
from deepfake.pipelines.images.docker_cli import DockerCli
from deepfake.pipelines.local.records import StepState
from deepfake.pipelines.local.runner import LocalRunner
from deepfake.pipelines.registry import LocalRegistry
from deepfake.pipelines.sagemaker.local_mode import SDK_CONTAINER_NAME
from tests.support.media import small_dfdc

BUCKET = "deepfake-local-mode"
QUICK = {"FramesPerVideo": "3", "FaceSize": "48", "Epochs": "2", "BatchSize": "4", "EarlyStoppingPatience": "2"}
AUC = ("binary_classification_metrics", "auc", "value")


def s3_json(uri: str) -> dict:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def value(document: dict, path: tuple[str, ...]) -> float:
    for part in path:
        document = document[part]
    return float(document)  # type: ignore[arg-type]


# "pass" lowers every threshold of the gate, the minimum test videos a class included (this data has one a class).
PASS = {"MinAuc": "0", "MinAccuracy": "0", "MinWorstAuc": "0", "MinTestVideosPerClass": "1"}


@pytest.mark.parametrize("gate", [PASS, {"MinAccuracy": "1.01"}], ids=["pass", "fail"])
def test_the_sdk_local_mode_gives_the_local_runners_splits_gate_and_metrics(
    aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], gate: dict
) -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("DEEPFAKE_BUCKET", BUCKET)
    data = small_dfdc(tmp_path / "dfdc")
    arguments = {"InputData": str(data), **QUICK, **gate}
    local = LocalRunner(tmp_path / "runs", out=io.StringIO()).run(build_pipeline(), arguments)

    command = ["run", "deepfake", "--target", "sagemaker-local", "--runs-dir", str(tmp_path / "sdk-runs")]
    code = main([*command, *(f"--param={name}={text}" for name, text in arguments.items())])
    printed = capsys.readouterr()
    passed = "MinAuc" in gate
    assert code == (0 if passed else 1), printed.out[-3000:]
    assert local.state is (StepState.SUCCEEDED if passed else StepState.FAILED)
    for note in ("no training checkpoints", "no sharded inputs", "register steps register into the local registry"):
        assert f"sagemaker-local: {note}" in printed.err
    outputs = dict(line.strip().split(": ", 1) for line in printed.out.splitlines() if line.startswith("      "))

    sdk_counts = s3_json(f"{outputs['split-dataset.splits']}/counts.json")
    local_counts = json.loads((local.steps["split-dataset"].outputs["splits"].path / "counts.json").read_text())
    assert sdk_counts == local_counts
    sdk_evaluation = s3_json(f"{outputs['evaluate-model.evaluation']}/evaluation.json")
    local_evaluation = json.loads(
        (local.steps["evaluate-model"].outputs["evaluation"].path / "evaluation.json").read_text()
    )
    assert abs(value(sdk_evaluation, AUC) - value(local_evaluation, AUC)) <= 0.25
    assert "quality-gate" in printed.out and ("FAILED: " in printed.out) != passed

    assert DockerCli().containers(SDK_CONTAINER_NAME) == set(), "the SDK's exited step containers are removed"
    registered = LocalRegistry(tmp_path / "sdk-runs" / "registry").list("deepfake-detector")
    assert [package.source.split("/")[0] for package in registered] == (["sagemaker-local"] if passed else [])
    if passed:
        assert registered[0].metrics == sdk_evaluation
