"""What the sagemaker-local target decides before docker runs anything (the run itself: tests/containers)."""

import json
from pathlib import Path

import boto3
import pytest
from sagemaker.config.config_schema import TELEMETRY_OPT_OUT_PATH
from sagemaker.utils import resolve_value_from_config

from deepfake.pipelines.builtin.deepfake import build_pipeline
from deepfake.pipelines.sagemaker.compiler import parameter_values, sdk_pipeline
from deepfake.pipelines.sagemaker.local_mode import TELEMETRY_OFF, LocalPipelineSession, _upload, without_unsupported
from deepfake.pipelines.sagemaker.target import LOCAL_ROLE, CompileError, SageMakerTarget
from deepfake.pipelines.settings import Settings
from tests.pipelines.sagemaker.definitions import all_steps


def test_local_mode_needs_only_a_bucket_and_runs_the_images_tagged_here(aws_unconfigured: None) -> None:
    target = SageMakerTarget.from_settings(Settings(bucket="local-bucket"), local_mode=True)
    assert target.pipeline_role_arn == LOCAL_ROLE and target.region
    step = build_pipeline().steps["split-dataset"]
    assert target.component_image(step.component) == f"deepfake/split-dataset:{step.component.version}"  # type: ignore[union-attr]


def test_on_a_local_session_the_register_step_is_left_for_after_the_run(aws: str) -> None:
    target = without_unsupported(SageMakerTarget.from_settings(Settings(bucket="local-bucket"), local_mode=True))
    pipeline = build_pipeline()
    parameters, values = parameter_values(pipeline, target, {})
    session = LocalPipelineSession(boto_session=boto3.Session(), default_bucket="local-bucket", s3_endpoint_url=aws)
    session.sagemaker_config = TELEMETRY_OFF
    definition = json.loads(sdk_pipeline(pipeline, target, parameters, values, "deepfake", session).definition())
    steps = all_steps(definition)
    assert "register-model" not in steps and {"train-classifier", "quality-gate", "quality-gate-failed"} <= set(steps)
    assert steps["quality-gate"]["Arguments"]["IfSteps"] == []
    assert resolve_value_from_config(config_path=TELEMETRY_OPT_OUT_PATH, sagemaker_session=session) is True


def test_a_local_input_is_uploaded_without_what_leads_out_of_it(aws: str, tmp_path: Path) -> None:
    boto3.client("s3").create_bucket(Bucket="local-bucket")
    folder = tmp_path / "data"
    (folder / "part0").mkdir(parents=True)
    (folder / "part0" / "a.mp4").write_bytes(b"video")
    (tmp_path / "secret.txt").write_text("outside")
    (folder / "part0" / "leak.mp4").symlink_to(tmp_path / "secret.txt")
    uri = _upload(folder, boto3.Session(), "local-bucket", "deepfake/inputs")
    prefix = uri.removeprefix("s3://local-bucket/")
    listed = boto3.client("s3").list_objects_v2(Bucket="local-bucket", Prefix=prefix)["Contents"]
    assert [item["Key"].removeprefix(prefix) for item in listed] == ["/part0/a.mp4"]
    with pytest.raises(CompileError, match="missing is not a folder on this machine: pass a folder or an s3://"):
        _upload(tmp_path / "missing", boto3.Session(), "local-bucket", "x")
