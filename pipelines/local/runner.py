"""Run a DAG on this machine: each component step on the container contract, in its own folder.

`<runs>/<pipeline>/<execution-id>/<step>/` holds the step's contract folders (`ml/`, reset per attempt), its
published `outputs/<name>/`, and `step.log`. Steps run one at a time in topological order; a failed step skips its
dependants, a condition skips the branch not taken, and a fail step ends the run with its message.
"""

import hashlib
import json
import os
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import jmespath

from deepfake.components.artifacts import ArtifactError, pack_archive
from deepfake.components.contract import MODEL_ARCHIVE, MODEL_OUTPUT, ComponentKind, ContainerLayout, cli_flag
from deepfake.components.params import encode_values
from deepfake.pipelines.dag import (
    ComponentStep,
    ConditionStep,
    FailStep,
    JsonValue,
    OutputRef,
    ParamRef,
    Pipeline,
    PipelineDefinitionError,
    RegisterStep,
    evaluate,
)
from deepfake.pipelines.local.cache import ArtifactRecord, CacheEntry, StepCache, cache_key, hash_tree
from deepfake.pipelines.local.launch import Invocation, Launcher, SubprocessLauncher
from deepfake.pipelines.local.metrics import read_metrics
from deepfake.pipelines.local.records import AttemptRecord, RunRecord, StepRecord, StepState, mark_interrupted
from deepfake.pipelines.local.report import write_report
from deepfake.pipelines.local.s3_inputs import S3InputError, stage_prefix
from deepfake.pipelines.registry import ApprovalStatus, LocalRegistry, ModelRegistry
from deepfake.pipelines.settings import Settings


class StepFailure(Exception):
    """A step could not produce its result; the message is the reason shown to the user."""


class LocalRunner:
    def __init__(
        self,
        runs_dir: Path,
        *,
        launcher: Launcher | None = None,
        use_cache: bool = True,
        stream_logs: bool = True,
        out: TextIO = sys.stderr,
        sleep: Callable[[float], None] = time.sleep,
        s3_max_bytes: int | None = None,
        registry: ModelRegistry | None = None,
    ) -> None:
        self.runs_dir = runs_dir
        self.launcher = launcher or SubprocessLauncher()
        self.cache = StepCache(runs_dir / "cache")
        self.use_cache = use_cache
        self.stream_logs = stream_logs
        self.out = out
        self.sleep = sleep
        self.s3_max_bytes = s3_max_bytes or Settings().s3_stage_max_bytes
        self._registry = registry

    @property
    def registry(self) -> ModelRegistry:
        """The local registry under the runs folder unless another one was given; created on first use."""
        if self._registry is None:
            self._registry = LocalRegistry(self.runs_dir / "registry")
        return self._registry

    def run(self, pipeline: Pipeline, arguments: Mapping[str, str] | None = None) -> RunRecord:
        """Run every step; `arguments` are `--param Name=Value` strings, parsed by each parameter's type."""
        values = parse_arguments(pipeline, arguments or {})
        order = pipeline.topological_order()
        execution_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        folder = self.runs_dir / pipeline.name / execution_id
        folder.mkdir(parents=True)
        for stale in mark_interrupted(folder.parent):
            self._say(
                f"run {stale.pipeline}/{stale.execution_id} was left running by a runner that is gone: interrupted"
            )
        run = RunRecord(
            pipeline=pipeline.name,
            execution_id=execution_id,
            target="local",
            pid=os.getpid(),
            started_at=datetime.now(UTC),
            folder=folder.resolve(),
            parameters=values,
            steps={name: StepRecord(name=name, type=_step_type(pipeline.steps[name])) for name in order},
        )
        run.save()
        self._say(f"run {pipeline.name}/{execution_id} in {folder.resolve()}")
        started = time.perf_counter()
        for position, name in enumerate(order, start=1):
            record = run.steps[name]
            blocker = self._blocker(pipeline, run, name)
            if blocker:
                record.state, record.reason = StepState.SKIPPED, blocker
                self._report(record, f"({position}/{len(order)})")
                continue
            record.state, record.started_at = StepState.RUNNING, datetime.now(UTC)
            record.folder = folder / name
            record.folder.mkdir()
            run.save()
            self._say(f"{name:<24} running   ({position}/{len(order)})")
            step_started = time.perf_counter()
            try:
                self._execute(pipeline, pipeline.steps[name], record, run, values)
            except (StepFailure, ArtifactError, PipelineDefinitionError, OSError) as exc:
                record.state, record.reason = StepState.FAILED, str(exc)
                run.failure = run.failure or f"step '{name}' failed: {exc}"
            except BaseException:  # Ctrl-C, or a bug: the record says so before the exception goes on
                record.state, run.state, run.pid = StepState.INTERRUPTED, StepState.INTERRUPTED, None
                run.failure = f"interrupted while step '{name}' ran"
                run.save()
                raise
            record.duration_s = round(time.perf_counter() - step_started, 3)
            run.save()
            self._report(record, "")
        run.duration_s = round(time.perf_counter() - started, 3)
        run.state = StepState.FAILED if run.failure else StepState.SUCCEEDED
        run.pid = None
        run.save()
        write_report(run)
        return run

    def _execute(
        self, pipeline: Pipeline, step: Any, record: StepRecord, run: RunRecord, values: Mapping[str, Any]
    ) -> None:
        if isinstance(step, ComponentStep):
            self._run_component(pipeline, step, record, run, values)
        elif isinstance(step, ConditionStep):
            seen: list[str] = []
            try:
                record.outcome = evaluate(step.condition, lambda operand: self._operand(operand, run, values), seen)
            except TypeError as exc:
                raise StepFailure(str(exc)) from exc
            record.state = StepState.SUCCEEDED
            record.reason = f"condition is {str(record.outcome).lower()}: {'; '.join(seen)}"
        elif isinstance(step, RegisterStep):
            self._register(pipeline, step, record, run, values)
        elif isinstance(step, FailStep):
            parts = [part if isinstance(part, str) else str(self._operand(part, run, values)) for part in step.message]
            raise StepFailure(" ".join(parts))

    def _run_component(
        self,
        pipeline: Pipeline,
        step: ComponentStep,
        record: StepRecord,
        run: RunRecord,
        values: Mapping[str, Any],
    ) -> None:
        spec = step.component
        record.params = encode_values(spec.params_schema, pipeline.resolve_params(step, values))
        inputs, input_hashes = self._resolve_inputs(step, run, values)
        record.cache_key = cache_key(spec, record.params, input_hashes)
        if self.use_cache and step.cache and (entry := self.cache.lookup(record.cache_key)):
            record.state, record.outputs, record.metrics = StepState.CACHED, entry.outputs, entry.metrics
            record.cached_from = f"{entry.execution_id}/{entry.step}"
            return
        assert record.folder is not None
        record.log = record.folder / "step.log"
        layout = ContainerLayout(spec.kind, record.folder / "ml")
        arguments = [] if spec.kind is ComponentKind.TRAINING else _container_arguments(record.params)
        for attempt in range(1, step.retry.max_attempts + 1):
            _prepare_layout(layout, record.params, attempt_dir=record.folder)
            began = time.perf_counter()
            echo = (lambda line: self._say(f"  {step.name} | {line}")) if self.stream_logs else None
            code = self.launcher.launch(Invocation(spec, layout, inputs, arguments, record.log), echo)
            record.metrics = read_metrics(record.log, spec.metrics)
            reason = None if code == 0 else in_pipeline_terms(_failure_reason(layout, code), step, layout, values)
            record.attempts.append(
                AttemptRecord(
                    number=attempt,
                    exit_code=code,
                    duration_s=round(time.perf_counter() - began, 3),
                    reason=reason,
                )
            )
            if code == 0:
                record.outputs = self._publish_outputs(step, layout, record.folder)
                record.state = StepState.SUCCEEDED
                self.cache.store(
                    record.cache_key,
                    CacheEntry(
                        execution_id=run.execution_id, step=step.name, outputs=record.outputs, metrics=record.metrics
                    ),
                )
                return
            if attempt < step.retry.max_attempts:
                delay = step.retry.delay(attempt)
                self._say(f"{step.name:<24} attempt {attempt} failed ({reason}); retrying in {delay:g}s")
                self.sleep(delay)
        raise StepFailure(record.attempts[-1].reason or "failed")

    def _register(
        self, pipeline: Pipeline, step: RegisterStep, record: StepRecord, run: RunRecord, values: Mapping[str, Any]
    ) -> None:
        status = self._operand(step.approval_status, run, values)
        model = run.steps[step.model.step].outputs[step.model.output].path
        producer = pipeline.steps[step.model.step]
        assert isinstance(producer, ComponentStep)
        archive = model / (producer.component.outputs[step.model.output].type.archive or "")
        metrics = run.steps[step.metrics.step].outputs[step.metrics.output].path / step.metrics_file
        for path in (archive, metrics):
            if not path.is_file():
                raise StepFailure(f"cannot register: {path} is missing")
        digest = hash_tree(archive)
        known = next(
            (
                package
                for package in self.registry.list(step.model_group)
                if Path(package.model_data).is_file() and hash_tree(Path(package.model_data)) == digest
            ),
            None,
        )
        if known is not None:
            record.state, record.cached_from = StepState.CACHED, known.source
            package = known
        else:
            source = f"{run.pipeline}/{run.execution_id}"
            package = self.registry.register(
                step.model_group, archive, metrics, step.image, ApprovalStatus(status), source
            )
            record.state = StepState.SUCCEEDED
        record.package = package.model_dump(mode="json", exclude={"metrics"})
        record.reason = f"{package.group} version {package.version} ({package.status.value})"

    def _resolve_inputs(
        self, step: ComponentStep, run: RunRecord, values: Mapping[str, Any]
    ) -> tuple[dict[str, Path], dict[str, str]]:
        folders, hashes = {}, {}
        for name, ref in step.inputs.items():
            if isinstance(ref, OutputRef):
                artifact = run.steps[ref.step].outputs[ref.output]
                folders[name], hashes[name] = artifact.path, artifact.sha256
                continue
            value = str(values[ref.name])
            if value.startswith("s3://"):
                try:
                    folders[name], hashes[name] = stage_prefix(value, self.runs_dir / "inputs", self.s3_max_bytes)
                except S3InputError as exc:
                    raise StepFailure(f"input '{name}': {exc}") from exc
                step.component.inputs[name].type.check(folders[name])
                continue
            location = Path(value).expanduser()
            if location.is_file() and location.name == step.component.inputs[name].type.archive:
                # Hashed as its file, which hashes as a folder holding only that file does.
                folders[name], hashes[name] = self._archive_folder(location), hash_tree(location)
                continue
            if not location.is_dir():
                raise StepFailure(
                    f"input '{name}': parameter {ref.name}={location} is not a folder on this machine; "
                    f"pass --param {ref.name}=<folder or s3://bucket/prefix>"
                )
            step.component.inputs[name].type.check(location)
            folders[name], hashes[name] = location.resolve(), hash_tree(location)
        return folders, hashes

    def _archive_folder(self, archive: Path) -> Path:
        """A packed artifact passed as its file (a registered model.tar.gz): a folder holding only a link to it, so
        the component sees the folder it expects; either spelling reuses the same cached step."""
        folder = self.runs_dir / "inputs" / f"file-{hashlib.sha256(str(archive.resolve()).encode()).hexdigest()[:32]}"
        folder.mkdir(parents=True, exist_ok=True)
        link = folder / archive.name
        link.unlink(missing_ok=True)
        link.symlink_to(archive.resolve())
        return folder

    def _publish_outputs(self, step: ComponentStep, layout: ContainerLayout, folder: Path) -> dict[str, ArtifactRecord]:
        """Move outputs to `outputs/<name>/`, as SageMaker uploads them; a training model travels as model.tar.gz."""
        published = {}
        for name, output in step.component.outputs.items():
            target = folder / "outputs" / name
            if target.exists():
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            if step.component.kind is ComponentKind.TRAINING and name == MODEL_OUTPUT:
                target.mkdir()
                pack_archive(layout.output_dir(MODEL_OUTPUT), target / MODEL_ARCHIVE)
            else:
                layout.output_dir(name).replace(target)
            output.type.check(target)
            published[name] = ArtifactRecord(path=target.resolve(), sha256=hash_tree(target))
        return published

    def _operand(self, operand: Any, run: RunRecord, values: Mapping[str, Any]) -> Any:
        if isinstance(operand, ParamRef):
            return values[operand.name]
        if isinstance(operand, JsonValue):
            return read_json_value(run.steps[operand.step].outputs[operand.output].path, operand)
        return operand

    def _blocker(self, pipeline: Pipeline, run: RunRecord, name: str) -> str | None:
        """Why `name` cannot run: an upstream step failed or was skipped, or its condition went the other way."""
        for upstream in sorted(pipeline.dependencies(name)):
            state = run.steps[upstream].state
            if state is StepState.FAILED:
                return f"upstream step '{upstream}' failed"
            if state is StepState.SKIPPED:
                return f"upstream step '{upstream}' was skipped"
        guard = pipeline.guard_of(name)
        if guard is not None:
            condition = pipeline.steps[guard]
            assert isinstance(condition, ConditionStep)
            taken = condition.if_true if run.steps[guard].outcome else condition.if_false
            if name not in taken:
                return f"condition '{guard}' is {str(run.steps[guard].outcome).lower()}"
        return None

    def _report(self, record: StepRecord, suffix: str) -> None:
        detail = record.reason or ""
        if record.state is StepState.CACHED:
            detail = f"from {record.cached_from}"
        elif record.duration_s is not None:
            detail = f"{record.duration_s:.2f}s {detail}"
        self._say(f"{record.name:<24} {record.state.value:<9} {detail} {suffix}".rstrip())

    def _say(self, line: str) -> None:
        self.out.write(f"[{datetime.now():%H:%M:%S}] {line}\n")
        self.out.flush()


def parse_arguments(pipeline: Pipeline, arguments: Mapping[str, str]) -> dict[str, Any]:
    unknown = sorted(set(arguments) - set(pipeline.parameters))
    if unknown:
        known = ", ".join(pipeline.parameters) or "none"
        raise PipelineDefinitionError(f"unknown parameter(s) {', '.join(unknown)}; {pipeline.name} takes: {known}")
    values = {
        name: parameter.parse(arguments[name]) if name in arguments else parameter.default
        for name, parameter in pipeline.parameters.items()
    }
    pipeline.check_values(values)
    return values


def read_json_value(folder: Path, ref: JsonValue) -> Any:
    path = folder / ref.file
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise StepFailure(f"cannot read report {ref.step}.{ref.output}/{ref.file}: {exc}") from exc
    value = jmespath.search(ref.path, document)
    if value is None:
        raise StepFailure(f"JSON path '{ref.path}' not found in {ref.step}.{ref.output}/{ref.file}")
    return value


def _container_arguments(params: Mapping[str, str]) -> list[str]:
    return [item for name, value in params.items() for item in (cli_flag(name), value)]


def _prepare_layout(layout: ContainerLayout, params: Mapping[str, str], attempt_dir: Path) -> None:
    """A fresh contract folder per attempt; checkpoints live outside it so a retry resumes from them."""
    if layout.base.exists():
        shutil.rmtree(layout.base)
    layout.resource_config_file.parent.mkdir(parents=True)
    layout.resource_config_file.write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    if layout.kind is ComponentKind.TRAINING:
        layout.hyperparameters_file.write_text(json.dumps(dict(params), indent=2))
        checkpoints = attempt_dir / "checkpoints"
        checkpoints.mkdir(exist_ok=True)
        layout.checkpoint_dir.symlink_to(checkpoints.resolve(), target_is_directory=True)


def in_pipeline_terms(reason: str, step: ComponentStep, layout: ContainerLayout, values: Mapping[str, Any]) -> str:
    """A component names its own folders and params; the user set pipeline parameters, so name those instead."""
    for name, ref in step.inputs.items():
        if isinstance(ref, ParamRef):
            given = f"{ref.name}={values[ref.name]}"
            for folder in (layout.input_dir(name), ContainerLayout(layout.kind).input_dir(name)):
                reason = reason.replace(str(folder.resolve()), given).replace(str(folder), given)
    for field, value in step.params.items():
        if isinstance(value, ParamRef):
            reason = reason.replace(f"the {field} param", f"the {field} param (pipeline parameter {value.name})")
    return reason


def _failure_reason(layout: ContainerLayout, code: int) -> str:
    if layout.failure_file.is_file():
        reason = layout.failure_file.read_text(errors="replace").strip()
        if reason:
            return reason
    return f"exited with code {code} and left no reason in {layout.failure_file.name}; see step.log"


def _step_type(step: Any) -> str:
    if isinstance(step, ComponentStep):
        return step.component.kind.value
    if isinstance(step, ConditionStep):
        return "condition"
    return "fail" if isinstance(step, FailStep) else "register"
