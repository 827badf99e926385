"""Without credentials, a region or a reachable endpoint, a command says which in one line and exits 2."""

import pytest

from deepfake.deploy import cli as deploy_cli
from deepfake.pipelines.cli.main import main
from tests.support.ports import free_port

SAGEMAKER_SETTINGS = {
    "DEEPFAKE_REGION": "eu-west-1",
    "DEEPFAKE_PIPELINE_ROLE_ARN": "arn:aws:iam::123456789012:role/deepfake-pipeline",
    "DEEPFAKE_BUCKET": "deepfake-artifacts",
    "DEEPFAKE_IMAGE_REGISTRY": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
}
RUN = ["run", "tests.toy.gated_training:pipeline", "--target", "sagemaker", "--no-wait"]


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err


def test_compile_reports_every_missing_setting_at_once(
    aws_unconfigured: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compile", "deepfake"]) == 2
    err = capsys.readouterr().err
    for variable in SAGEMAKER_SETTINGS:
        assert f"\n  export {variable}=" in err


CLOSED = f"http://127.0.0.1:{free_port()}"
KEYS = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}


@pytest.mark.parametrize(
    ("command", "environment", "problem"),
    [
        ("pipelines", SAGEMAKER_SETTINGS, "no AWS credentials: run `aws configure`"),
        ("pipelines", {**SAGEMAKER_SETTINGS, **KEYS, "AWS_ENDPOINT_URL": CLOSED}, f"cannot reach {CLOSED}"),
        ("deploy", {"AWS_ENDPOINT_URL": CLOSED}, "no AWS region: export DEEPFAKE_REGION=<region> (or AWS_REGION)"),
        ("deploy", {"DEEPFAKE_REGION": "eu-west-1"}, "no AWS credentials"),
        ("deploy", {"DEEPFAKE_REGION": "eu-west-1", **KEYS, "AWS_ENDPOINT_URL": CLOSED}, f"cannot reach {CLOSED}"),
    ],
)
def test_no_credentials_region_or_network_is_one_line_and_exit_2(
    aws_unconfigured: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    environment: dict[str, str],
    problem: str,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    if command == "pipelines":
        assert main(RUN) == 2
    else:
        assert deploy_cli.main(["models", "--target", "sagemaker"]) == 2
    assert problem in one_line_error(capsys)
