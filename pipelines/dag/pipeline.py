"""The DAG: pipeline parameters, component steps wired by typed artifacts, conditions on report values, fail steps.

Everything is checked as the DAG is built, so a mistake names its step and field before anything runs. The same
object is what the local runner executes and what the SageMaker compiler translates.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import jsonschema

from deepfake.components.definition import Component
from deepfake.components.spec import ComponentSpec
from deepfake.pipelines.dag.conditions import Condition, operands
from deepfake.pipelines.dag.refs import JsonValue, OutputRef, ParamRef
from deepfake.pipelines.dag.steps import (
    APPROVAL_STATUSES,
    MODEL_GROUP_NAME,
    PARAMETER_NAME,
    PARAMETER_TYPES,
    STEP_NAME,
    ComponentStep,
    ConditionStep,
    FailStep,
    PipelineDefinitionError,
    PipelineParameter,
    RegisterStep,
    RetryPolicy,
    Step,
    names,
)


class Pipeline:
    """Build with `parameter()`, `step()`, `condition()` and `fail()`; each call checks its wiring at once."""

    def __init__(self, name: str, description: str = "") -> None:
        if not re.fullmatch(STEP_NAME, name):
            raise PipelineDefinitionError(f"pipeline name '{name}' must match {STEP_NAME}")
        self.name = name
        self.description = description
        self.parameters: dict[str, PipelineParameter] = {}
        self.steps: dict[str, Step] = {}

    def parameter(
        self,
        name: str,
        type: type,
        default: bool | int | float | str,
        description: str = "",
        choices: Sequence[str] = (),
    ) -> ParamRef:
        """`choices` restrict a String parameter (SageMaker shows them as its EnumValues)."""
        if not re.fullmatch(PARAMETER_NAME, name):
            raise PipelineDefinitionError(f"parameter '{name}': names must match {PARAMETER_NAME} (SageMaker's rule)")
        if name in self.parameters:
            raise PipelineDefinitionError(f"parameter '{name}' is defined twice")
        type_name = next((key for key, value in PARAMETER_TYPES.items() if value is type), None)
        if type_name is None:
            raise PipelineDefinitionError(f"parameter '{name}': type must be one of int, float, str, bool")
        if type is float and isinstance(default, int) and not isinstance(default, bool):
            default = float(default)
        if not isinstance(default, type) or (type is int and isinstance(default, bool)):
            raise PipelineDefinitionError(f"parameter '{name}': default {default!r} is not of type {type_name}")
        if choices and (type is not str or default not in choices):
            raise PipelineDefinitionError(f"parameter '{name}': choices need a String parameter whose default is one")
        self.parameters[name] = PipelineParameter(
            name=name, type=type_name, default=default, description=description, choices=tuple(choices)
        )
        return ParamRef(name=name)

    def step(
        self,
        name: str,
        component: Component | ComponentSpec,
        *,
        params: Mapping[str, Any] | None = None,
        inputs: Mapping[str, OutputRef | ParamRef] | None = None,
        retry: RetryPolicy | None = None,
        cache: bool = True,
    ) -> ComponentStep:
        self._check_new_name(name)
        spec = component.spec if isinstance(component, Component) else component
        step = ComponentStep(
            name=name,
            component=spec,
            params=dict(params or {}),
            inputs=dict(inputs or {}),
            retry=retry or RetryPolicy(),
            cache=cache,
        )
        self._check_inputs(step)
        self._check_params(step)
        self.steps[name] = step
        return step

    def condition(
        self, name: str, condition: Condition, *, if_true: Sequence[Step] = (), if_false: Sequence[Step] = ()
    ) -> ConditionStep:
        self._check_new_name(name)
        step = ConditionStep(
            name=name,
            condition=condition,
            if_true=tuple(branch.name for branch in if_true),
            if_false=tuple(branch.name for branch in if_false),
        )
        self._check_operands(name, operands(condition))
        guarded = step.if_true + step.if_false
        for branch in guarded:
            if branch not in self.steps:
                raise PipelineDefinitionError(f"condition '{name}': branch step '{branch}' is not in this pipeline")
            if branch in step.upstream or branch in self.ancestors(step.upstream):
                raise PipelineDefinitionError(
                    f"condition '{name}': step '{branch}' feeds the condition, so it cannot also be in a branch"
                )
            owner = self.guard_of(branch)
            if owner is not None or guarded.count(branch) > 1:
                raise PipelineDefinitionError(
                    f"condition '{name}': step '{branch}' is already in a branch of '{owner or name}'"
                )
        self.steps[name] = step
        return step

    def fail(self, name: str, message: Sequence[str | JsonValue | ParamRef]) -> FailStep:
        """A step that ends the run as failed; `message` parts are joined with spaces at run time."""
        self._check_new_name(name)
        self._check_operands(name, [part for part in message if not isinstance(part, str)])
        step = FailStep(name=name, message=tuple(message))
        self.steps[name] = step
        return step

    def register(
        self,
        name: str,
        *,
        model: OutputRef,
        metrics: OutputRef,
        model_group: str,
        image: str,
        metrics_file: str = "evaluation.json",
        approval_status: ParamRef | str = "PendingManualApproval",
    ) -> RegisterStep:
        """`model` must be a packaged model output; `image` is the serving image the package will run on."""
        self._check_new_name(name)
        for role, ref in (("model", model), ("metrics", metrics)):
            producer = self.steps.get(ref.step)
            if not isinstance(producer, ComponentStep):
                raise PipelineDefinitionError(f"step '{name}': {role} comes from '{ref.step}', not a component step")
            producer.output(ref.output)
        model_type = self.steps[model.step].component.outputs[model.output].type  # type: ignore[union-attr]
        if model_type.archive is None:
            raise PipelineDefinitionError(
                f"step '{name}': model '{model.step}.{model.output}' is {model_type.name}, not a packaged model "
                "(an artifact type with an archive)"
            )
        if not re.fullmatch(MODEL_GROUP_NAME, model_group):
            raise PipelineDefinitionError(f"step '{name}': model group '{model_group}' must match {MODEL_GROUP_NAME}")
        if isinstance(approval_status, ParamRef):
            self._parameter(name, approval_status)
        elif approval_status not in APPROVAL_STATUSES:
            raise PipelineDefinitionError(
                f"step '{name}': approval status '{approval_status}' must be one of {', '.join(APPROVAL_STATUSES)}"
            )
        step = RegisterStep(
            name=name,
            model=model,
            metrics=metrics,
            metrics_file=metrics_file,
            model_group=model_group,
            image=image,
            approval_status=approval_status,
        )
        self.steps[name] = step
        return step

    def uses(self, parameter: str) -> list[str]:
        """Where a parameter goes: `step.param`, `step input x`, or the condition, fail or register step reading it."""
        found = []
        for step in self.steps.values():
            ref = ParamRef(name=parameter)
            if isinstance(step, ComponentStep):
                found += [f"{step.name}.{field}" for field, value in step.params.items() if value == ref]
                found += [f"{step.name} input {field}" for field, value in step.inputs.items() if value == ref]
            elif (
                (isinstance(step, ConditionStep) and ref in operands(step.condition))
                or (isinstance(step, FailStep) and ref in step.message)
                or (isinstance(step, RegisterStep) and step.approval_status == ref)
            ):
                found.append(step.name)
        return found

    def dependencies(self, name: str) -> set[str]:
        """Steps that must finish before `name`: data producers, report producers, and its guarding condition."""
        step = self.steps[name]
        guard = self.guard_of(name)
        return step.upstream | ({guard} if guard else set())

    def guard_of(self, name: str) -> str | None:
        return next(
            (
                step.name
                for step in self.steps.values()
                if isinstance(step, ConditionStep) and name in step.if_true + step.if_false
            ),
            None,
        )

    def ancestors(self, names: Iterable[str]) -> set[str]:
        seen: set[str] = set()
        stack = list(names)
        while stack:
            for parent in self.dependencies(stack.pop()):
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return seen

    def topological_order(self) -> list[str]:
        """Dependencies first, otherwise in the order the steps were added (a condition may guard earlier steps)."""
        order: list[str] = []
        remaining = list(self.steps)
        while remaining:
            ready = next(name for name in remaining if self.dependencies(name) <= set(order))
            order.append(ready)
            remaining.remove(ready)
        return order

    def _check_new_name(self, name: str) -> None:
        if not re.fullmatch(STEP_NAME, name):
            raise PipelineDefinitionError(f"step name '{name}' must match {STEP_NAME}")
        if name in self.steps:
            raise PipelineDefinitionError(f"step '{name}' is defined twice; step names must be unique")

    def _check_inputs(self, step: ComponentStep) -> None:
        spec = step.component
        for input_name, ref in step.inputs.items():
            if input_name not in spec.inputs:
                raise PipelineDefinitionError(
                    f"step '{step.name}': unknown input '{input_name}'; {spec.name} takes {names(spec.inputs)}"
                )
            expected = spec.inputs[input_name].type.name
            if isinstance(ref, ParamRef):
                parameter = self._parameter(step.name, ref)
                if parameter.type != "String":
                    raise PipelineDefinitionError(
                        f"step '{step.name}': input '{input_name}' needs a String parameter (a URI), "
                        f"'{ref.name}' is {parameter.type}"
                    )
                continue
            producer = self.steps.get(ref.step)
            if not isinstance(producer, ComponentStep):
                raise PipelineDefinitionError(
                    f"step '{step.name}': input '{input_name}' comes from '{ref.step}', which is not a component "
                    f"step of this pipeline"
                )
            producer.output(ref.output)
            actual = producer.component.outputs[ref.output].type.name
            if actual != expected:
                raise PipelineDefinitionError(
                    f"step '{step.name}': input '{input_name}' expects {expected}, but "
                    f"'{ref.step}.{ref.output}' is {actual}"
                )
        missing = [name for name, port in spec.inputs.items() if not port.optional and name not in step.inputs]
        if missing:
            raise PipelineDefinitionError(f"step '{step.name}': required input(s) {', '.join(missing)} not wired")

    def _check_params(self, step: ComponentStep) -> None:
        known = step.component.param_names
        for name, value in step.params.items():
            if name not in known:
                raise PipelineDefinitionError(
                    f"step '{step.name}': unknown param '{name}'; {step.component.name} takes {', '.join(known)}"
                )
            if isinstance(value, ParamRef):
                self._parameter(step.name, value)
        problems = param_problems(step.component, self.resolve_params(step, {}))
        if problems:
            raise PipelineDefinitionError(f"step '{step.name}': {'; '.join(map(str, problems))}")

    def check_values(self, values: Mapping[str, Any]) -> None:
        """Every step's params under these parameter values, before any step runs; a bad value is named by its
        pipeline parameter (the setting the user has), with the component field it feeds."""
        found = [
            problem for parameter in self.parameters.values() if (problem := parameter.problem(values[parameter.name]))
        ]
        for step in self.steps.values():
            if isinstance(step, RegisterStep) and isinstance(step.approval_status, ParamRef):
                status = values[step.approval_status.name]
                if status not in APPROVAL_STATUSES:
                    found.append(
                        f"parameter {step.approval_status.name}={status!r} is not one of {', '.join(APPROVAL_STATUSES)}"
                    )
            if not isinstance(step, ComponentStep):
                continue
            for bad in param_problems(step.component, self.resolve_params(step, values)):
                source = step.params.get(bad.field)
                if isinstance(source, ParamRef):
                    found.append(
                        f"parameter {source.name}={values[source.name]!r}: {bad.message} ({step.name} {bad.path})"
                    )
                else:
                    found.append(f"step '{step.name}': {bad}")
        if found:
            raise PipelineDefinitionError("; ".join(dict.fromkeys(found)))

    def resolve_params(self, step: ComponentStep, values: Mapping[str, Any]) -> dict[str, Any]:
        """Step params with pipeline parameters replaced by `values` (or their defaults)."""
        return {
            name: (
                values.get(value.name, self.parameters[value.name].default) if isinstance(value, ParamRef) else value
            )
            for name, value in step.params.items()
        }

    def _check_operands(self, owner: str, operands: Iterable[JsonValue | ParamRef | Any]) -> None:
        for operand in operands:
            if isinstance(operand, ParamRef):
                self._parameter(owner, operand)
            elif isinstance(operand, JsonValue):
                producer = self.steps.get(operand.step)
                if not isinstance(producer, ComponentStep):
                    raise PipelineDefinitionError(
                        f"step '{owner}': reads a report from '{operand.step}', which is not a component step here"
                    )
                producer.output(operand.output)

    def _parameter(self, owner: str, ref: ParamRef) -> PipelineParameter:
        if ref.name not in self.parameters:
            raise PipelineDefinitionError(
                f"step '{owner}': unknown pipeline parameter '{ref.name}'; defined: {names(self.parameters)}"
            )
        return self.parameters[ref.name]


class ParamProblem(NamedTuple):
    field: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"param '{self.path}': {self.message}"


def param_problems(spec: ComponentSpec, values: Mapping[str, Any]) -> list[ParamProblem]:
    """Param values against the component's JSON Schema (works for specs loaded from JSON too)."""
    validator = jsonschema.Draft202012Validator(spec.params_schema)
    problems = []
    for error in sorted(validator.iter_errors(dict(values)), key=lambda error: list(error.absolute_path)):
        path = ".".join(str(part) for part in error.absolute_path) or "(all)"
        problems.append(ParamProblem(str(error.absolute_path[0]) if error.absolute_path else path, path, error.message))
    return problems
