"""The steps of a DAG: component steps with bound params and wired inputs, conditions, fail and register steps."""

from collections.abc import Mapping
from typing import Any, Literal

import jmespath
from jmespath.exceptions import JMESPathError
from pydantic import Field

from deepfake.components.spec import ComponentSpec
from deepfake.pipelines.dag.conditions import Condition, json_values
from deepfake.pipelines.dag.refs import Frozen, JsonValue, OutputRef, ParamRef
from deepfake.pipelines.registry import ApprovalStatus

STEP_NAME = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
MODEL_GROUP_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
APPROVAL_STATUSES = tuple(status.value for status in ApprovalStatus)
PARAMETER_NAME = r"^[A-Za-z][A-Za-z0-9]{0,63}$"
PARAMETER_TYPES: dict[str, type] = {"Integer": int, "Float": float, "String": str, "Boolean": bool}


class PipelineDefinitionError(ValueError):
    """The DAG is wired wrongly; the message names the step and the field."""


class PipelineParameter(Frozen):
    name: str
    type: Literal["Integer", "Float", "String", "Boolean"]
    default: bool | int | float | str
    description: str = ""
    choices: tuple[str, ...] = ()

    def parse(self, text: str) -> bool | int | float | str:
        """Turn a `--param Name=Value` string into this parameter's type."""
        try:
            if self.type == "Boolean":
                if text.lower() not in ("true", "false"):
                    raise ValueError("expected true or false")
                return text.lower() == "true"
            return PARAMETER_TYPES[self.type](text)
        except ValueError as exc:
            raise PipelineDefinitionError(f"parameter {self.name}={text!r} is not a valid {self.type}") from exc

    def problem(self, value: bool | int | float | str) -> str | None:
        """Why `value` is not one of this parameter's choices, with the parameter's own description as the hint."""
        if not self.choices or value in self.choices:
            return None
        return f"parameter {self.name}={value!r} is not one of {', '.join(self.choices)} ({self.description})"


class RetryPolicy(Frozen):
    """Attempts per step; on SageMaker this compiles to a job retry policy with the same numbers."""

    max_attempts: int = Field(1, ge=1, le=20)
    interval_seconds: float = Field(1.0, ge=0)
    backoff_rate: float = Field(2.0, ge=1)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt `attempt + 1` (attempts count from 1)."""
        return self.interval_seconds * self.backoff_rate ** (attempt - 1)


class ComponentStep(Frozen):
    name: str
    component: ComponentSpec
    params: dict[str, ParamRef | Any] = Field(default_factory=dict)
    inputs: dict[str, OutputRef | ParamRef] = Field(default_factory=dict)
    retry: RetryPolicy = RetryPolicy()
    cache: bool = True

    def output(self, name: str) -> OutputRef:
        if name not in self.component.outputs:
            raise PipelineDefinitionError(
                f"step '{self.name}': no output '{name}'; {self.component.name} has {names(self.component.outputs)}"
            )
        return OutputRef(step=self.name, output=name)

    def report_value(self, output: str, file: str, path: str) -> JsonValue:
        """A value in this step's JSON report: `report_value("evaluation", "evaluation.json", "auc.value")`."""
        self.output(output)
        if "/" in file or file in ("", ".", ".."):
            raise PipelineDefinitionError(f"step '{self.name}': report file '{file}' must be a plain file name")
        try:
            jmespath.compile(path)
        except JMESPathError as exc:
            raise PipelineDefinitionError(f"step '{self.name}': JSON path {path!r} is invalid: {exc}") from exc
        return JsonValue(step=self.name, output=output, file=file, path=path)

    @property
    def upstream(self) -> set[str]:
        return {ref.step for ref in self.inputs.values() if isinstance(ref, OutputRef)}


class ConditionStep(Frozen):
    name: str
    condition: Condition
    if_true: tuple[str, ...] = ()
    if_false: tuple[str, ...] = ()

    @property
    def upstream(self) -> set[str]:
        return {value.step for value in json_values(self.condition)}


class FailStep(Frozen):
    name: str
    message: tuple[str | JsonValue | ParamRef, ...]

    @property
    def upstream(self) -> set[str]:
        return {part.step for part in self.message if isinstance(part, JsonValue)}


class RegisterStep(Frozen):
    """Registers a packaged model with its evaluation as a new version in a model group (SageMaker: RegisterModel)."""

    name: str
    model: OutputRef
    metrics: OutputRef
    metrics_file: str
    model_group: str
    image: str
    approval_status: ParamRef | str

    @property
    def upstream(self) -> set[str]:
        return {self.model.step, self.metrics.step}


Step = ComponentStep | ConditionStep | FailStep | RegisterStep


def names(mapping: Mapping[str, Any]) -> str:
    return ", ".join(mapping) or "none"
