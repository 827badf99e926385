"""`run --target sagemaker-local`: the compiled DAG, executed by the SageMaker SDK's own local mode.

A second, independent implementation of the container contract: the SDK's LocalPipelineSession runs each processing
and training step in its component's image under docker compose, with its own /opt/ml layout, hyperparameters.json
and property resolution. Local mode has no S3 checkpoints, no ShardedByS3Key and no RegisterModel, so checkpoints and
sharding are turned off (and printed), and a register step becomes a registration into the local registry after the
run, from the step outputs the gate let through. S3 is the endpoint AWS_ENDPOINT_URL names (a moto server in the
tests), or AWS itself; a local folder given to an input parameter is uploaded to the bucket first.
"""

import os
import sys
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import boto3
from pydantic import BaseModel

from deepfake.components.contract import ComponentKind
from deepfake.components.dataset_files import DatasetFileError, resolve_inside
from deepfake.pipelines.dag import ComponentStep, ConditionStep, ParamRef, Pipeline, RegisterStep
from deepfake.pipelines.images.docker_cli import DockerCli
from deepfake.pipelines.registry import ApprovalStatus, ModelRegistry
from deepfake.pipelines.sagemaker.compiler import (
    PROCESSING_INSTANCE_TYPE,
    TRAINING_INSTANCE_TYPE,
    parameter_values,
    sdk_pipeline,
)
from deepfake.pipelines.sagemaker.offline import quiet_sdk, root_logging_kept
from deepfake.pipelines.sagemaker.target import CompileError, SageMakerTarget

with root_logging_kept():
    from sagemaker.workflow.pipeline_context import LocalPipelineSession

LOCAL_INSTANCE = "local"
SDK_CONTAINER_NAME = "-algo-"  # the SDK names each step's container <random>-algo-<n>-<random>
TELEMETRY_OFF = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}


class LocalModeResult(BaseModel):
    """What the SDK's execution ended as, step by step, and what was registered from it."""

    execution_id: str
    status: str
    failure_reason: str | None = None
    steps: dict[str, str]
    outcomes: dict[str, bool]
    outputs: dict[str, str]  # "<step>.<output>" → its S3 URI
    registered: list[str] = []  # "<group>/<version>"


def run_local_mode(
    pipeline: Pipeline,
    target: SageMakerTarget,
    arguments: Mapping[str, str],
    registry: ModelRegistry,
    out: TextIO | None = None,
    docker: DockerCli | None = None,
) -> LocalModeResult:
    """Compile `pipeline` onto a LocalPipelineSession, run it to its end, register what its gate passed."""
    out, docker = out or sys.stderr, docker or DockerCli()
    components = [step for step in pipeline.steps.values() if isinstance(step, ComponentStep)]
    unsupported = {
        "no training checkpoints (the SDK's local mode has none)": target.training_checkpoints
        and any(step.component.kind is ComponentKind.TRAINING for step in components),
        "no sharded inputs (the SDK's local mode has none)": any(
            step.name in target.sharded_inputs for step in components
        ),
        "register steps register into the local registry after the run (the SDK's local mode cannot register)": any(
            isinstance(step, RegisterStep) for step in pipeline.steps.values()
        ),
    }
    for note in [note for note, applies in unsupported.items() if applies]:
        out.write(f"sagemaker-local: {note}\n")
    local_target = without_unsupported(target)
    parameters, values = parameter_values(pipeline, local_target, arguments)
    values[PROCESSING_INSTANCE_TYPE] = values[TRAINING_INSTANCE_TYPE] = LOCAL_INSTANCE
    boto_session = boto3.Session(region_name=target.region)
    for name in _input_parameters(pipeline):
        if not str(values[name]).startswith("s3://"):
            values[name] = _upload(Path(str(values[name])), boto_session, target.bucket, f"{pipeline.name}/inputs")
            out.write(f"sagemaker-local: {name} uploaded to {values[name]}\n")
    session = LocalPipelineSession(
        boto_session=boto_session, default_bucket=target.bucket, s3_endpoint_url=os.environ.get("AWS_ENDPOINT_URL")
    )
    session.sagemaker_config = TELEMETRY_OFF  # the SDK reports each create and start to an AWS bucket otherwise
    earlier = docker.containers(SDK_CONTAINER_NAME)
    try:
        with root_logging_kept(), quiet_sdk():  # the steps' containers still log as they run (docker compose)
            sdk = sdk_pipeline(pipeline, local_target, parameters, values, pipeline.name, session)
            sdk.create(role_arn=target.pipeline_role_arn)
            execution = sdk.start()
    finally:  # the SDK leaves each step's exited container behind
        docker.remove_containers(docker.containers(SDK_CONTAINER_NAME) - earlier)
    result = _result(execution, session)
    result.registered = _register(pipeline, result, values, boto_session, registry)
    return result


def without_unsupported(target: SageMakerTarget) -> SageMakerTarget:
    """The SDK refuses checkpoint_s3_uri and ShardedByS3Key in local mode."""
    return target.model_copy(update={"training_checkpoints": False, "sharded_inputs": {}})


def _input_parameters(pipeline: Pipeline) -> list[str]:
    return sorted(
        {
            ref.name
            for step in pipeline.steps.values()
            if isinstance(step, ComponentStep)
            for ref in step.inputs.values()
            if isinstance(ref, ParamRef)
        }
    )


def _upload(folder: Path, boto_session: boto3.Session, bucket: str, prefix: str) -> str:
    """The folder's regular files under a fresh prefix; a link out of the folder is not followed (dataset_files)."""
    if not folder.is_dir():
        raise CompileError(f"{folder} is not a folder on this machine: pass a folder or an s3:// URI")
    s3 = boto_session.client("s3")
    key_prefix = f"{prefix}/{uuid.uuid4().hex[:12]}"
    for path in sorted(folder.rglob("*")):
        try:
            resolve_inside(folder, path)
        except DatasetFileError:
            continue
        s3.upload_file(str(path), bucket, f"{key_prefix}/{path.relative_to(folder).as_posix()}")
    return f"s3://{bucket}/{key_prefix}"


def _result(execution: Any, session: LocalPipelineSession) -> LocalModeResult:
    described = execution.describe()
    steps, outcomes, outputs = {}, {}, {}
    for step in execution.list_steps()["PipelineExecutionSteps"]:
        name, metadata = step["StepName"], step.get("Metadata", {})
        steps[name] = step["StepStatus"]
        if "Condition" in metadata:
            outcomes[name] = metadata["Condition"]["Outcome"]
        if "TrainingJob" in metadata:
            job = session.sagemaker_client.describe_training_job(metadata["TrainingJob"]["Arn"])
            outputs[f"{name}.model"] = job["ModelArtifacts"]["S3ModelArtifacts"]
        if "ProcessingJob" in metadata:
            job = session.sagemaker_client.describe_processing_job(metadata["ProcessingJob"]["Arn"])
            listed = job.get("ProcessingOutputConfig", {}).get("Outputs", [])
            # The SDK's step executor turns the list it stored into a dict by output name, in place.
            for output in listed.values() if isinstance(listed, dict) else listed:
                outputs[f"{name}.{output['OutputName']}"] = output["S3Output"]["S3Uri"]
    return LocalModeResult(
        execution_id=described["PipelineExecutionArn"],
        status=described["PipelineExecutionStatus"],
        failure_reason=described.get("FailureReason"),
        steps=steps,
        outcomes=outcomes,
        outputs=outputs,
    )


def _register(
    pipeline: Pipeline,
    result: LocalModeResult,
    values: Mapping[str, Any],
    boto_session: boto3.Session,
    registry: ModelRegistry,
) -> list[str]:
    """Each register step whose inputs exist and whose guarding condition went its way, as the service would."""
    registered = []
    s3 = boto_session.client("s3")
    for step in pipeline.steps.values():
        if not isinstance(step, RegisterStep):
            continue
        guard = pipeline.guard_of(step.name)
        if guard is not None:
            condition = pipeline.steps[guard]
            assert isinstance(condition, ConditionStep)
            if result.outcomes.get(guard) is not (step.name in condition.if_true):
                continue
        model = result.outputs.get(f"{step.model.step}.{step.model.output}")
        metrics = result.outputs.get(f"{step.metrics.step}.{step.metrics.output}")
        if model is None or metrics is None:
            continue
        status = (
            values[step.approval_status.name] if isinstance(step.approval_status, ParamRef) else step.approval_status
        )
        with tempfile.TemporaryDirectory(prefix="sagemaker-local-") as scratch:
            archive, report = Path(scratch) / Path(model).name, Path(scratch) / step.metrics_file
            s3.download_file(*_bucket_key(model), str(archive))
            s3.download_file(*_bucket_key(f"{metrics.rstrip('/')}/{step.metrics_file}"), str(report))
            package = registry.register(
                step.model_group,
                archive,
                report,
                step.image,
                ApprovalStatus(status),
                f"sagemaker-local/{result.execution_id}",
            )
        registered.append(f"{package.group}/{package.version}")
    return registered


def _bucket_key(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key
