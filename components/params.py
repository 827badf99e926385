"""Params as strings, the way SageMaker carries them (container arguments, hyperparameters.json).

Scalar params (string, integer, number, boolean, string enums), optional or not, travel as their plain text, so a
hand-written `{"epochs": "3"}` or `--aggregation max` works; `null` means None for an optional one (so an optional
string cannot hold the text "null"). Anything else (lists, objects) travels as JSON text.
"""

import json
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

P = TypeVar("P", bound=BaseModel)
SCALAR_TYPES = frozenset({"string", "integer", "number", "boolean"})


class ParamsError(ValueError):
    """Params that do not validate; the message names the param and what it accepts."""


def scalar_params(schema: Mapping[str, Any]) -> dict[str, bool]:
    """The params that travel as plain text (name → whether it is optional), read from a params JSON Schema."""
    definitions = schema.get("$defs", {})

    def scalar(prop: Mapping[str, Any]) -> bool:
        if "$ref" in prop:
            prop = definitions.get(prop["$ref"].rsplit("/", 1)[-1], {})
        return prop.get("type") in SCALAR_TYPES

    scalars = {}
    for name, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf", [prop])
        present = [option for option in options if option.get("type") != "null"]
        if len(present) == 1 and scalar(present[0]):
            scalars[name] = len(present) < len(options)
    return scalars


def encode_values(schema: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, str]:
    """JSON-ready param values → strings; the inverse of `decode_params` for a model with this schema."""
    scalars = scalar_params(schema)
    return {
        name: value if isinstance(value, str) and name in scalars else json.dumps(value, sort_keys=True)
        for name, value in values.items()
    }


def encode_params(params: BaseModel) -> dict[str, str]:
    return encode_values(_schema(type(params)), params.model_dump(mode="json"))


@cache
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def decode_params(model: type[P], raw: Mapping[str, str]) -> P:
    values: dict[str, Any] = {}
    scalars = scalar_params(_schema(model))
    for name, text in raw.items():
        if name not in model.model_fields:
            known = ", ".join(model.model_fields) or "none"
            raise ParamsError(f"unknown parameter '{name}'; this component takes: {known}")
        if name in scalars:
            values[name] = None if scalars[name] and text == "null" else text
            continue
        try:
            values[name] = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ParamsError(f"parameter '{name}': expected a JSON value, got {text!r} ({exc.msg})") from exc
    return validate_params(model, values)


def validate_params(model: type[P], values: Mapping[str, Any]) -> P:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ParamsError(describe_validation_error(exc, "parameter")) from exc


def describe_validation_error(exc: ValidationError, noun: str) -> str:
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "(all)"
        given = f" (got {error['input']!r})" if "input" in error and not isinstance(error["input"], dict) else ""
        problems.append(f"{noun} '{field}': {error['msg']}{given}")
    return "; ".join(problems)
