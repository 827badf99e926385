"""The deploy CLI with `--target sagemaker`, as the CodeBuild buildspecs run it, against a moto server."""

import json
from pathlib import Path

import boto3
import pytest

from deepfake.deploy import cli
from deepfake.deploy.sagemaker_registry import SageMakerRegistry
from deepfake.pipelines.registry import ApprovalStatus

BUCKET = "deepfake-models"
GROUP = "deepfake-detector"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/deepfake/serve:1.0.0"


@pytest.fixture
def deploy_env(aws: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name, value in {
        "DEEPFAKE_PROJECT_NAME": "deepfake",
        "DEEPFAKE_PROJECT_ID": "p-0123456789ab",
        "DEEPFAKE_BUCKET": BUCKET,
        "DEEPFAKE_DEPLOY_MODEL_ROLE_ARN": "arn:aws:iam::123456789012:role/deepfake-model",
        "DEEPFAKE_DEPLOY_STACK_POLL_SECONDS": "0.01",
        "DEEPFAKE_RUNS_DIR": str(tmp_path / "runs"),
    }.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    registry = SageMakerRegistry(BUCKET)
    for seed in range(3):
        (tmp_path / "model.tar.gz").write_bytes(f"weights {seed}".encode())
        (tmp_path / "evaluation.json").write_text("{}")
        registry.register(
            GROUP, tmp_path / "model.tar.gz", tmp_path / "evaluation.json", IMAGE, ApprovalStatus.PENDING, "test"
        )
    return tmp_path


def test_approve_without_rollout_then_render_picks_the_newest_approved(
    deploy_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for version in ("1", "2"):
        assert cli.main(["approve", version, "--no-rollout", "--target", "sagemaker"]) == 0
    assert cli.main(["--group", GROUP, "render", "--target", "sagemaker", "--out", str(deploy_env / "build")]) == 0
    newest = SageMakerRegistry(BUCKET).get(GROUP, 2)
    for stage in ("staging", "prod"):
        rendered = json.loads((deploy_env / "build" / f"{stage}-config-export.json").read_text())
        assert rendered["Parameters"]["ModelPackageName"] == newest.arn
        assert rendered["Tags"] == {
            "sagemaker:project-name": "deepfake",
            "sagemaker:project-id": "p-0123456789ab",
            "stage": stage,
        }
    assert "Approved" in capsys.readouterr().out


def test_smoke_test_of_a_stage_that_does_not_exist_fails_with_its_reason(
    deploy_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["smoke-test", "--target", "sagemaker", "--stage", "staging", "--out", str(deploy_env / "r.json")])
    assert code != 0
    assert "deepfake-staging does not exist: deploy the stage first" in capsys.readouterr().err
