"""Compile a DAG to a SageMaker pipeline definition (SDK v2; with local_mode.py, the only modules importing it).

Processing components become ProcessingSteps on a generic `Processor`, training components TrainingSteps on a
generic `Estimator`, report values PropertyFile + JsonGet, conditions ConditionSteps, fail steps FailSteps and
register steps ModelSteps with the serving image. Every container path, argument and hyperparameter comes from
`components.contract` and `components.params`, exactly as the local runner lays them out, so the two targets run
the same contract. Compiling makes no network call: region, role, bucket and image URIs are explicit and the SDK's
telemetry and config files are switched off.
"""

import json
import logging
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from deepfake.components.contract import MODEL_OUTPUT, ComponentKind, ContainerLayout, cli_flag, entry_arguments
from deepfake.components.params import encode_values, scalar_params
from deepfake.components.serve.schema import CONTENT_TYPES, RESPONSE_TYPES
from deepfake.components.spec import ComponentSpec
from deepfake.pipelines.dag import (
    COMPARISONS,
    AllOf,
    Compare,
    ComponentStep,
    Condition,
    ConditionStep,
    FailStep,
    JsonValue,
    OutputRef,
    ParamRef,
    Pipeline,
    PipelineParameter,
    RegisterStep,
    RetryPolicy,
    json_values,
)
from deepfake.pipelines.sagemaker.limits import request_problems, setting_for
from deepfake.pipelines.sagemaker.offline import offline, offline_session, root_logging_kept
from deepfake.pipelines.sagemaker.target import CompileError, SageMakerTarget

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
# The SDK logs "Not applying SDK defaults from location ..." for each absent config file when it is imported.
logging.getLogger("sagemaker.config").setLevel(logging.WARNING)
with offline(), root_logging_kept():
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.model import Model
    from sagemaker.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.processing import ProcessingInput, ProcessingOutput, Processor
    from sagemaker.workflow import conditions as sm_conditions
    from sagemaker.workflow.condition_step import ConditionStep as SageMakerConditionStep
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.fail_step import FailStep as SageMakerFailStep
    from sagemaker.workflow.functions import Join, JsonGet
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import (
        Parameter,
        ParameterBoolean,
        ParameterFloat,
        ParameterInteger,
        ParameterString,
    )
    from sagemaker.workflow.pipeline import Pipeline as SageMakerPipeline
    from sagemaker.workflow.pipeline_context import PipelineSession
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.retry import (
        SageMakerJobExceptionTypeEnum,
        SageMakerJobStepRetryPolicy,
        StepExceptionTypeEnum,
        StepRetryPolicy,
    )
    from sagemaker.workflow.steps import CacheConfig, ProcessingStep, TrainingStep

PROCESSING_INSTANCE_TYPE = "ProcessingInstanceType"
TRAINING_INSTANCE_TYPE = "TrainingInstanceType"
TRAINING_INSTANCE_COUNT = "TrainingInstanceCount"
SHARDED = "ShardedByS3Key"
DISTRIBUTION_PARAM = "input_distribution"
SAGEMAKER_PIPELINE_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$"
PARAMETER_CLASSES: dict[str, Callable[..., Parameter]] = {
    "String": ParameterString,
    "Integer": ParameterInteger,
    "Float": ParameterFloat,
    "Boolean": ParameterBoolean,
}


class CompiledPipeline(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    definition: dict[str, Any]
    model_groups: tuple[str, ...] = ()

    def to_json(self) -> str:
        """Key-sorted and indented, so the same DAG and settings always give the same bytes."""
        return json.dumps(self.definition, indent=2, sort_keys=True) + "\n"


def sagemaker_parameters(pipeline: Pipeline, target: SageMakerTarget) -> dict[str, PipelineParameter]:
    """The DAG's parameters plus the SageMaker-only ones: instance types and counts."""
    extra = [
        PipelineParameter(
            name=PROCESSING_INSTANCE_TYPE,
            type="String",
            default=target.processing_instance_type,
            description="Instance type of every processing step.",
        ),
        PipelineParameter(
            name=TRAINING_INSTANCE_TYPE,
            type="String",
            default=target.training_instance_type,
            description="Instance type of every training step.",
        ),
        PipelineParameter(
            name=TRAINING_INSTANCE_COUNT,
            type="Integer",
            default=1,
            description="Instances of every training step; more than one runs data-parallel (DDP).",
        ),
    ]
    for step_name in target.sharded_inputs:
        if step_name in pipeline.steps:
            extra.append(
                PipelineParameter(
                    name=instance_count_parameter(step_name),
                    type="Integer",
                    default=1,
                    description=f"Instances of {step_name}; each gets its share of the sharded input.",
                )
            )
    parameters = dict(pipeline.parameters)
    for parameter in extra:
        if parameter.name in parameters:
            raise CompileError(
                f"pipeline parameter '{parameter.name}' is reserved for the SageMaker target; rename it in the DAG"
            )
        parameters[parameter.name] = parameter
    return parameters


def instance_count_parameter(step_name: str) -> str:
    """`extract-faces` → `ExtractFacesInstanceCount`."""
    return "".join(part.capitalize() for part in re.split(r"[-_]", step_name) if part) + "InstanceCount"


def sagemaker_pipeline_name(pipeline: Pipeline, project_name: str | None) -> str:
    """`<project>-<pipeline>` inside a SageMaker project (as the MLOps templates name theirs), else the DAG's."""
    name = f"{project_name}-{pipeline.name}" if project_name else pipeline.name
    if not re.fullmatch(SAGEMAKER_PIPELINE_NAME, name):
        raise CompileError(f"pipeline name '{name}' must match {SAGEMAKER_PIPELINE_NAME} on SageMaker (no '_')")
    return name


def parse_overrides(parameters: Mapping[str, PipelineParameter], overrides: Mapping[str, str]) -> dict[str, Any]:
    """`--param Name=Value` strings, typed by their parameter; unknown names are an error listing the known ones."""
    unknown = sorted(set(overrides) - set(parameters))
    if unknown:
        raise CompileError(f"unknown parameter(s) {', '.join(unknown)}; known: {', '.join(parameters)}")
    return {name: parameters[name].parse(text) for name, text in overrides.items()}


def check_input_uris(pipeline: Pipeline, values: Mapping[str, Any]) -> None:
    """A String parameter that feeds an input is an S3 URI on SageMaker; a local folder cannot be read there."""
    for step in pipeline.steps.values():
        if not isinstance(step, ComponentStep):
            continue
        for input_name, ref in step.inputs.items():
            if isinstance(ref, ParamRef) and not re.fullmatch(
                r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?", str(values[ref.name])
            ):
                raise CompileError(
                    f"parameter '{ref.name}' feeds input '{input_name}' of step '{step.name}' and is"
                    f" {values[ref.name]!r}, which SageMaker cannot read: pass --param {ref.name}=s3://<bucket>/<prefix>"
                    " (upload a local dataset with `aws s3 sync <folder> s3://<bucket>/<prefix>`)"
                )


def compile_pipeline(
    pipeline: Pipeline,
    target: SageMakerTarget,
    overrides: Mapping[str, str] | None = None,
    project_name: str | None = None,
) -> CompiledPipeline:
    """The SageMaker definition of `pipeline`; `overrides` replace parameter defaults (e.g. InputData's S3 URI)."""
    parameters, values = parameter_values(pipeline, target, overrides or {})
    check_input_uris(pipeline, values)
    name = sagemaker_pipeline_name(pipeline, project_name)
    with offline():
        definition = json.loads(sdk_pipeline(pipeline, target, parameters, values, name).definition())
    check_limits(definition, values)
    groups = tuple(sorted({step.model_group for step in pipeline.steps.values() if isinstance(step, RegisterStep)}))
    return CompiledPipeline(name=name, description=pipeline.description, definition=definition, model_groups=groups)


def parameter_values(
    pipeline: Pipeline, target: SageMakerTarget, overrides: Mapping[str, str]
) -> tuple[dict[str, PipelineParameter], dict[str, Any]]:
    """The pipeline's parameters with SageMaker's own, and their values: defaults, then `overrides`, all checked."""
    parameters = sagemaker_parameters(pipeline, target)
    values = {name: parameter.default for name, parameter in parameters.items()}
    values.update(parse_overrides(parameters, overrides))
    pipeline.check_values(values)
    return parameters, values


def sdk_pipeline(
    pipeline: Pipeline,
    target: SageMakerTarget,
    parameters: Mapping[str, PipelineParameter],
    values: Mapping[str, Any],
    name: str,
    session: PipelineSession | None = None,
) -> SageMakerPipeline:
    """The SDK's pipeline object: for its definition (the default, offline session) or for the SDK to run."""
    compiler = _Compiler(pipeline, target, parameters, values, session)
    return SageMakerPipeline(
        name=name,
        parameters=list(compiler.parameters.values()),
        steps=compiler.compile_steps(),
        sagemaker_session=compiler.session,
    )


def check_limits(definition: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """Every job step's request within what the service accepts (botocore's model), before it is upserted."""
    steps = list(definition["Steps"])
    while steps:
        step = steps.pop(0)
        if step["Type"] == "Condition":
            steps += [*step["Arguments"]["IfSteps"], *step["Arguments"]["ElseSteps"]]
            continue
        for problem in request_problems(step["Type"], step.get("Arguments", {}), values):
            setting = setting_for(problem)
            fix = f": set {setting} within it" if setting else ": fix the value in the DAG or the settings"
            raise CompileError(f"step '{step['Name']}': {problem}{fix}")


class _Compiler:
    def __init__(
        self,
        pipeline: Pipeline,
        target: SageMakerTarget,
        parameters: Mapping[str, PipelineParameter],
        values: Mapping[str, Any],
        session: PipelineSession | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.target = target
        self.session = session or PipelineSession(
            boto_session=offline_session(target.region),
            default_bucket=target.bucket,
            sagemaker_config={},  # no SDK defaults files: the definition depends on the DAG and settings only
        )
        self.parameters: dict[str, Parameter] = {
            name: PARAMETER_CLASSES[parameter.type](
                name=name,
                default_value=values[name],
                **({"enum_values": list(parameter.choices)} if parameter.choices else {}),
            )
            for name, parameter in parameters.items()
        }
        self.property_files: dict[tuple[str, str, str], PropertyFile] = {}
        self.built: dict[str, Any] = {}
        for value in self._json_values():
            producer = pipeline.steps[value.step]
            if isinstance(producer, ComponentStep) and producer.component.kind is ComponentKind.TRAINING:
                raise CompileError(
                    f"a condition or fail step reads {value.file} from training step '{value.step}'; SageMaker reads"
                    " report values from processing steps only: write the report in a processing step"
                )
            key = (value.step, value.output, value.file)
            if key not in self.property_files:
                self.property_files[key] = PropertyFile(
                    name=_property_file_name(value.output, value.file), output_name=value.output, path=value.file
                )

    def compile_steps(self) -> list[Any]:
        """Top-level steps in the DAG's order; guarded steps live only inside their condition's branches."""
        for name in self._build_order():
            step = self.pipeline.steps[name]
            if isinstance(step, RegisterStep) and self.session.local_mode:
                continue  # the SDK's local mode cannot register: sagemaker/local_mode.py registers after the run
            self.built[name] = self._build(step)
        return [
            self.built[name]
            for name in self.pipeline.topological_order()
            if name in self.built and self.pipeline.guard_of(name) is None
        ]

    def _build_order(self) -> list[str]:
        """Data producers first, and a condition after the steps of its branches (the SDK needs them built)."""
        order: list[str] = []
        remaining = list(self.pipeline.topological_order())
        while remaining:
            ready = next(name for name in remaining if self._needs(name) <= set(order))
            order.append(ready)
            remaining.remove(ready)
        return order

    def _needs(self, name: str) -> set[str]:
        step = self.pipeline.steps[name]
        needs = set(step.upstream)
        if isinstance(step, ConditionStep):
            needs |= set(step.if_true + step.if_false)
        return needs

    def _build(self, step: Any) -> Any:
        if isinstance(step, ComponentStep):
            if step.component.kind is ComponentKind.TRAINING:
                return self._training(step)
            return self._processing(step)
        if isinstance(step, ConditionStep):
            return SageMakerConditionStep(
                name=step.name,
                conditions=self._conditions(step.condition),
                if_steps=[self.built[name] for name in step.if_true if name in self.built],
                else_steps=[self.built[name] for name in step.if_false if name in self.built],
            )
        if isinstance(step, FailStep):
            parts = [part if isinstance(part, str) else self._operand(part) for part in step.message]
            return SageMakerFailStep(name=step.name, error_message=Join(on=" ", values=parts))
        return self._register(step)

    def _processing(self, step: ComponentStep) -> ProcessingStep:
        spec = step.component
        layout = ContainerLayout(ComponentKind.PROCESSING)
        sharded = self.target.sharded_inputs.get(step.name)
        if sharded is not None and sharded not in step.inputs:
            raise CompileError(
                f"setting 'sharded_inputs' shards input '{sharded}' of step '{step.name}', which has inputs"
                f" {', '.join(step.inputs) or 'none'}: fix DEEPFAKE_SHARDED_INPUTS"
            )
        params = dict(step.params)
        if sharded is not None and DISTRIBUTION_PARAM in spec.param_names:
            params[DISTRIBUTION_PARAM] = SHARDED
        count = self.parameters[instance_count_parameter(step.name)] if sharded is not None else 1
        processor = Processor(
            role=self.target.pipeline_role_arn,
            image_uri=self.target.component_image(spec),
            entrypoint=list(spec.entrypoint),
            instance_count=count,
            instance_type=self.parameters[PROCESSING_INSTANCE_TYPE],
            volume_size_in_gb=self.target.processing_volume_gb,
            max_runtime_in_seconds=self.target.max_runtime_s,
            sagemaker_session=self.session,
        )
        inputs = [
            ProcessingInput(
                source=self._input_uri(ref),
                destination=str(layout.input_dir(name)),
                input_name=name,
                s3_data_distribution_type=SHARDED if name == sharded else "FullyReplicated",
            )
            for name, ref in step.inputs.items()
        ]
        outputs = [
            ProcessingOutput(
                source=str(layout.output_dir(name)),
                destination=self._output_prefix(step.name, name),
                output_name=name,
            )
            for name in spec.outputs
        ]
        arguments = [item for name, value in self._encoded(spec, params).items() for item in (cli_flag(name), value)]
        step_args = processor.run(inputs=inputs, outputs=outputs, arguments=arguments or None)
        return ProcessingStep(
            name=step.name,
            step_args=step_args,
            property_files=[file for key, file in self.property_files.items() if key[0] == step.name],
            cache_config=self._cache(step),
            retry_policies=self._retry_policies(step.retry),
        )

    def _training(self, step: ComponentStep) -> TrainingStep:
        spec = step.component
        layout = ContainerLayout(ComponentKind.TRAINING)
        checkpoints = self._output_prefix(step.name, "checkpoints") if self.target.training_checkpoints else None
        estimator = Estimator(
            role=self.target.pipeline_role_arn,
            image_uri=self.target.component_image(spec),
            container_entry_point=list(spec.entrypoint),
            container_arguments=entry_arguments(spec.kind),
            instance_count=self.parameters[TRAINING_INSTANCE_COUNT],
            instance_type=self.parameters[TRAINING_INSTANCE_TYPE],
            volume_size=self.target.training_volume_gb,
            max_run=self.target.max_runtime_s,
            output_path=self._output_prefix(step.name, MODEL_OUTPUT),
            checkpoint_s3_uri=checkpoints,
            checkpoint_local_path=str(layout.checkpoint_dir) if checkpoints else None,
            hyperparameters=self._encoded(spec, step.params),
            metric_definitions=[{"Name": metric.name, "Regex": metric.regex} for metric in spec.metrics] or None,
            debugger_hook_config=False,
            disable_profiler=True,
            sagemaker_session=self.session,
        )
        channels = {
            name: TrainingInput(
                s3_data=self._input_uri(ref), input_mode="FastFile" if spec.inputs[name].streamed else None
            )
            for name, ref in step.inputs.items()
        }
        return TrainingStep(
            name=step.name,
            # Past the telemetry wrapper, which would call STS and S3; the pipeline-capturing fit lies beneath it.
            step_args=Estimator.fit.__wrapped__(estimator, inputs=channels),
            cache_config=self._cache(step),
            retry_policies=self._retry_policies(step.retry),
        )

    def _register(self, step: RegisterStep) -> ModelStep:
        metrics_uri = Join(on="/", values=[self._output_uri(step.metrics), step.metrics_file])
        model = Model(
            image_uri=self.target.image(step.image),
            model_data=self._output_uri(step.model),
            role=self.target.pipeline_role_arn,
            sagemaker_session=self.session,
        )
        approval = step.approval_status
        step_args = model.register(
            content_types=list(CONTENT_TYPES),
            response_types=list(RESPONSE_TYPES),
            model_package_group_name=step.model_group,
            approval_status=self.parameters[approval.name] if isinstance(approval, ParamRef) else approval,
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(s3_uri=metrics_uri, content_type="application/json")
            ),
            description=f"{self.pipeline.name}: {step.model_group}, registered by step {step.name}",
        )
        return ModelStep(name=step.name, step_args=step_args)

    def _encoded(self, spec: ComponentSpec, params: Mapping[str, Any]) -> dict[str, Any]:
        """Constants encoded exactly as the local runner encodes them; parameters as their run-time text."""
        constants = encode_values(
            spec.params_schema, {name: value for name, value in params.items() if not isinstance(value, ParamRef)}
        )
        scalars = scalar_params(spec.params_schema)
        encoded: dict[str, Any] = {}
        for name, value in params.items():
            if not isinstance(value, ParamRef):
                encoded[name] = constants[name]
                continue
            parameter = self.parameters[value.name]
            if name not in scalars and isinstance(parameter, ParameterString):
                raise CompileError(
                    f"step param '{name}' of {spec.name} is JSON-encoded, so String parameter '{value.name}'"
                    " cannot feed it on SageMaker; bind a constant instead"
                )
            encoded[name] = parameter.to_string()
        return encoded

    def _input_uri(self, ref: OutputRef | ParamRef) -> Any:
        if isinstance(ref, ParamRef):
            return self.parameters[ref.name]
        return self._output_uri(ref)

    def _output_uri(self, ref: OutputRef) -> Any:
        producer = self.built[ref.step]
        if isinstance(producer, TrainingStep):
            return producer.properties.ModelArtifacts.S3ModelArtifacts
        return producer.properties.ProcessingOutputConfig.Outputs[ref.output].S3Output.S3Uri

    def _output_prefix(self, step_name: str, output: str) -> Join:
        """s3://<bucket>/<pipeline>/<execution id>/<step>/<output>: one prefix a run, like the local run folder."""
        return Join(
            on="/",
            values=[
                "s3:/",
                self.target.bucket,
                ExecutionVariables.PIPELINE_NAME,
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                step_name,
                output,
            ],
        )

    def _cache(self, step: ComponentStep) -> CacheConfig:
        enabled = self.target.step_cache and step.cache
        return CacheConfig(enable_caching=enabled, expire_after=self.target.cache_expire_after if enabled else None)

    def _retry_policies(self, retry: RetryPolicy) -> list[Any]:
        """The DAG's policy when it asks for retries; otherwise the settings' infrastructure retries."""
        if retry.max_attempts <= 1:
            retry = RetryPolicy(
                max_attempts=self.target.job_retries + 1, interval_seconds=self.target.job_retry_interval_seconds
            )
        return _job_retry_policies(retry)

    def _conditions(self, condition: Condition) -> list[Any]:
        """A top-level all_of is the ConditionStep's own list (SageMaker ANDs it); nested ones use De Morgan."""
        if isinstance(condition, AllOf):
            return [self._condition(inner) for inner in condition.conditions]
        return [self._condition(condition)]

    def _condition(self, condition: Condition) -> Any:
        if isinstance(condition, Compare):
            condition_type = getattr(sm_conditions, f"Condition{COMPARISONS[condition.op].sagemaker}")
            return condition_type(left=self._operand(condition.left), right=self._operand(condition.right))
        inner = [self._condition(part) for part in condition.conditions]
        if isinstance(condition, AllOf):
            return sm_conditions.ConditionNot(
                expression=sm_conditions.ConditionOr(
                    conditions=[sm_conditions.ConditionNot(expression=part) for part in inner]
                )
            )
        return sm_conditions.ConditionOr(conditions=inner)

    def _operand(self, operand: Any) -> Any:
        if isinstance(operand, ParamRef):
            return self.parameters[operand.name]
        if isinstance(operand, JsonValue):
            return JsonGet(
                step_name=operand.step,
                property_file=self.property_files[(operand.step, operand.output, operand.file)],
                json_path=operand.path,
            )
        return operand

    def _json_values(self) -> list[JsonValue]:
        found: list[JsonValue] = []
        for step in self.pipeline.steps.values():
            if isinstance(step, ConditionStep):
                found.extend(json_values(step.condition))
            elif isinstance(step, FailStep):
                found.extend(part for part in step.message if isinstance(part, JsonValue))
        return found


def _property_file_name(output: str, file: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", f"{output}-{Path(file).stem}")


def _job_retry_policies(retry: RetryPolicy) -> list[Any]:
    """SageMaker retries infrastructure failures only (not a failing container); MaxAttempts counts retries."""
    if retry.max_attempts <= 1:
        return []
    retries, interval = retry.max_attempts - 1, max(1, math.ceil(retry.interval_seconds))
    return [
        StepRetryPolicy(
            exception_types=[StepExceptionTypeEnum.SERVICE_FAULT, StepExceptionTypeEnum.THROTTLING],
            max_attempts=retries,
            interval_seconds=interval,
            backoff_rate=retry.backoff_rate,
        ),
        SageMakerJobStepRetryPolicy(
            exception_types=[
                SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
                SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
            ],
            max_attempts=retries,
            interval_seconds=interval,
            backoff_rate=retry.backoff_rate,
        ),
    ]
