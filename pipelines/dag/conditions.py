"""Conditions on report values and parameters: the one definition of each comparison, for every target.

`COMPARISONS` is the only table of operators: the local runner evaluates a `Compare` with its `evaluate`, and the
SageMaker compiler emits the condition type named by its `sagemaker` field.
"""

import operator
from collections.abc import Callable
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import Field

from deepfake.pipelines.dag.refs import Frozen, JsonValue, ParamRef

Op = Literal[">=", "<=", "==", ">", "<"]


class Comparison(NamedTuple):
    evaluate: Callable[[Any, Any], bool]
    sagemaker: str  # the condition's Type in a SageMaker pipeline definition


COMPARISONS: dict[str, Comparison] = {
    ">=": Comparison(operator.ge, "GreaterThanOrEqualTo"),
    "<=": Comparison(operator.le, "LessThanOrEqualTo"),
    "==": Comparison(operator.eq, "Equals"),
    ">": Comparison(operator.gt, "GreaterThan"),
    "<": Comparison(operator.lt, "LessThan"),
}

Operand = Annotated[JsonValue | ParamRef, Field(discriminator="kind")] | bool | int | float | str


class Compare(Frozen):
    kind: Literal["compare"] = "compare"
    op: Op
    left: Operand
    right: Operand


class AllOf(Frozen):
    kind: Literal["all"] = "all"
    conditions: tuple["Condition", ...]


class AnyOf(Frozen):
    kind: Literal["any"] = "any"
    conditions: tuple["Condition", ...]


Condition = Annotated[Compare | AllOf | AnyOf, Field(discriminator="kind")]
AllOf.model_rebuild()
AnyOf.model_rebuild()


def ge(left: Operand, right: Operand) -> Compare:
    return Compare(op=">=", left=left, right=right)


def le(left: Operand, right: Operand) -> Compare:
    return Compare(op="<=", left=left, right=right)


def gt(left: Operand, right: Operand) -> Compare:
    return Compare(op=">", left=left, right=right)


def lt(left: Operand, right: Operand) -> Compare:
    return Compare(op="<", left=left, right=right)


def eq(left: Operand, right: Operand) -> Compare:
    return Compare(op="==", left=left, right=right)


def all_of(*conditions: Condition) -> AllOf:
    return AllOf(conditions=conditions)


def any_of(*conditions: Condition) -> AnyOf:
    return AnyOf(conditions=conditions)


def operands(condition: Condition) -> list[Any]:
    if isinstance(condition, Compare):
        return [condition.left, condition.right]
    return [operand for inner in condition.conditions for operand in operands(inner)]


def json_values(condition: Condition) -> list[JsonValue]:
    return [operand for operand in operands(condition) if isinstance(operand, JsonValue)]


def evaluate(condition: Condition, value_of: Callable[[Any], Any], seen: list[str] | None = None) -> bool:
    """Every comparison is evaluated (no short cut), so `seen` explains the whole outcome; TypeError when two
    values cannot be compared."""
    if isinstance(condition, Compare):
        left, right = value_of(condition.left), value_of(condition.right)
        try:
            result = COMPARISONS[condition.op].evaluate(left, right)
        except TypeError as exc:
            raise TypeError(f"cannot compare {left!r} {condition.op} {right!r}") from exc
        if seen is not None:
            seen.append(f"{_label(condition.left, left)} {condition.op} {_label(condition.right, right)}")
        return result
    results = [evaluate(inner, value_of, seen) for inner in condition.conditions]
    return all(results) if isinstance(condition, AllOf) else any(results)


def _label(operand: Any, value: Any) -> str:
    if isinstance(operand, JsonValue):
        return f"{operand.path}={value:.4g}" if isinstance(value, float) else f"{operand.path}={value!r}"
    if isinstance(operand, ParamRef):
        return f"{operand.name}={value!r}"
    return repr(value)
