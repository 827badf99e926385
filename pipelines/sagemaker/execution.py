"""Run a compiled pipeline on SageMaker: upsert it, start an execution and wait for it, printing what changes.

boto3 only (no `sagemaker` import), so the AWS calls are the plain API and `AWS_ENDPOINT_URL` points them at moto
in tests. The wait is bounded; step status comes from ListPipelineExecutionSteps where the endpoint offers it.
"""

import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from deepfake.pipelines.settings import AwsSetupError, aws_setup_error

TERMINAL_STATUSES = ("Succeeded", "Failed", "Stopped")
PROJECT_NAME_TAG = "sagemaker:project-name"
PROJECT_ID_TAG = "sagemaker:project-id"
MAX_DEFINITION_BYTES = 1024 * 1024  # CreatePipeline's inline PipelineDefinition limit


class SageMakerRunError(RuntimeError):
    """An AWS call failed; the message names the call and what to check."""


class ExecutionResult(BaseModel):
    pipeline: str
    arn: str
    status: str
    failure_reason: str | None = None
    steps: dict[str, str] = {}
    step_failures: dict[str, str] = {}
    timed_out: bool = False


class SageMakerRunner:
    def __init__(
        self,
        region: str,
        role_arn: str,
        *,
        project_name: str | None = None,
        project_id: str | None = None,
        poll_seconds: float = 30,
        out: TextIO | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = boto3.Session(region_name=region).client("sagemaker")
        self.role_arn = role_arn
        self.tags = [
            {"Key": key, "Value": value}
            for key, value in ((PROJECT_NAME_TAG, project_name), (PROJECT_ID_TAG, project_id))
            if value
        ]
        self.poll_seconds = poll_seconds
        self.out = out or sys.stderr
        self.sleep = sleep
        self.clock = clock

    def upsert(self, name: str, definition: str, description: str = "") -> str:
        """Create the pipeline, or update it in place when it exists (keeping its executions); returns its ARN."""
        if len(definition.encode()) > MAX_DEFINITION_BYTES:
            raise SageMakerRunError(
                f"pipeline '{name}': the definition is {len(definition.encode())} bytes, over CreatePipeline's"
                f" {MAX_DEFINITION_BYTES}-byte limit"
            )
        request = {
            "PipelineName": name,
            "PipelineDefinition": definition,
            "PipelineDescription": description[:3072],
            "RoleArn": self.role_arn,
        }
        try:
            arn = self.client.create_pipeline(**request, Tags=self.tags)["PipelineArn"]
            self._say(f"created pipeline {name}")
            return arn
        except ClientError as exc:
            if not _already_exists(exc):
                raise _error("CreatePipeline", name, exc) from exc
        except BotoCoreError as exc:
            raise _error("CreatePipeline", name, exc) from exc
        arn = self._call("UpdatePipeline", name, self.client.update_pipeline, **request)["PipelineArn"]
        if self.tags:
            self._call("AddTags", name, self.client.add_tags, ResourceArn=arn, Tags=self.tags)
        self._say(f"updated pipeline {name}")
        return arn

    def ensure_model_groups(self, groups: Iterable[str]) -> None:
        """Register steps need their model package group; create a missing one, tagged with the project."""
        for group in sorted(set(groups)):
            try:
                self.client.describe_model_package_group(ModelPackageGroupName=group)
                continue
            except ClientError as exc:
                if not _missing(exc):
                    raise _error("DescribeModelPackageGroup", group, exc) from exc
            except BotoCoreError as exc:
                raise _error("DescribeModelPackageGroup", group, exc) from exc
            self._call(
                "CreateModelPackageGroup",
                group,
                self.client.create_model_package_group,
                ModelPackageGroupName=group,
                ModelPackageGroupDescription=f"Models registered by SageMaker pipelines ({group})",
                Tags=self.tags,
            )
            self._say(f"created model package group {group}")

    def start(self, name: str, parameters: Mapping[str, str]) -> str:
        arn = self._call(
            "StartPipelineExecution",
            name,
            self.client.start_pipeline_execution,
            PipelineName=name,
            PipelineParameters=[{"Name": key, "Value": value} for key, value in parameters.items()],
            ClientRequestToken=uuid.uuid4().hex,
        )["PipelineExecutionArn"]
        self._say(f"started {arn}")
        return arn

    def wait(self, arn: str, timeout_s: float) -> ExecutionResult:
        """Poll until the execution ends or `timeout_s` passes (the execution keeps running after a timeout)."""
        name = arn.split(":pipeline/", 1)[-1].split("/execution/", 1)[0]
        deadline = self.clock() + timeout_s
        result = ExecutionResult(pipeline=name, arn=arn, status="Unknown")
        list_steps = True
        while True:
            described = self._call(
                "DescribePipelineExecution", arn, self.client.describe_pipeline_execution, PipelineExecutionArn=arn
            )
            status = described["PipelineExecutionStatus"]
            if list_steps:
                list_steps = self._update_steps(arn, result)
            if status != result.status:
                self._say(f"execution {status}")
            result.status = status
            result.failure_reason = described.get("FailureReason") or None
            if status in TERMINAL_STATUSES:
                return result
            remaining = deadline - self.clock()
            if remaining <= 0:
                result.timed_out = True
                return result
            self.sleep(min(self.poll_seconds, remaining))

    def _update_steps(self, arn: str, result: ExecutionResult) -> bool:
        """Print each step whose status changed; False (after one line saying so) when the API is unavailable."""
        try:
            pages = self.client.get_paginator("list_pipeline_execution_steps").paginate(
                PipelineExecutionArn=arn, SortOrder="Ascending"
            )
            steps = [step for page in pages for step in page["PipelineExecutionSteps"]]
        except (ClientError, BotoCoreError) as exc:
            self._say(
                f"step status is not available from this endpoint (ListPipelineExecutionSteps: {_reason(exc)});"
                " showing the execution status only"
            )
            return False
        for step in steps:
            name, status = step["StepName"], step["StepStatus"]
            if step.get("FailureReason"):
                result.step_failures[name] = step["FailureReason"]
            if result.steps.get(name) != status:
                cached = " (cached)" if step.get("CacheHitResult") else ""
                reason = f": {step['FailureReason']}" if step.get("FailureReason") else ""
                self._say(f"{name:<24} {status}{cached}{reason}")
            result.steps[name] = status
        return True

    def _call(self, operation: str, subject: str, method: Callable[..., Any], **request: Any) -> Any:
        try:
            return method(**request)
        except (ClientError, BotoCoreError) as exc:
            raise _error(operation, subject, exc) from exc

    def _say(self, line: str) -> None:
        self.out.write(f"[{datetime.now():%H:%M:%S}] {line}\n")
        self.out.flush()


def _already_exists(exc: ClientError) -> bool:
    message = exc.response.get("Error", {}).get("Message", "")
    return _code(exc) in ("ValidationException", "ResourceInUse") and "already exists" in message


def _missing(exc: ClientError) -> bool:
    message = exc.response.get("Error", {}).get("Message", "")
    return _code(exc) == "ResourceNotFound" or "does not exist" in message


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _reason(exc: ClientError | BotoCoreError) -> str:
    if not isinstance(exc, ClientError):
        return str(exc)[:200]
    code = _code(exc)
    if code.isdigit():  # a bare HTTP status: the body is an error page, not a message
        return f"HTTP {code}"
    return f"{code}: {exc.response.get('Error', {}).get('Message', '')}"[:200]


def _error(operation: str, subject: str, exc: ClientError | BotoCoreError) -> SageMakerRunError | AwsSetupError:
    if setup := aws_setup_error(exc):
        return setup
    hint = ""
    if isinstance(exc, ClientError) and _code(exc) in ("AccessDenied", "AccessDeniedException"):
        hint = f"; the caller needs sagemaker:{operation} (see README, Running on SageMaker)"
    elif not isinstance(exc, ClientError):
        hint = "; check the AWS credentials, region and network (or AWS_ENDPOINT_URL)"
    return SageMakerRunError(f"{operation} for {subject} failed: {_reason(exc)}{hint}")
