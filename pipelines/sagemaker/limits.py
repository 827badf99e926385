"""A compiled step's request checked against the SageMaker API's own model (botocore), before anything is sent.

botocore's ParamValidator checks types and required members but not the ranges, lengths, patterns and enums the
service enforces (a processing job runs at most 777 600 s, a training job's volume is at least 1 GB). This walks
each request against its operation's input shape and checks those too. A value only known at run time (a property
of another step, an execution variable) is skipped; a pipeline parameter is checked with its default.
"""

import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from botocore.validate import ParamValidator

OPERATIONS = {
    "Processing": "CreateProcessingJob",
    "Training": "CreateTrainingJob",
    "RegisterModel": "CreateModelPackage",
}
UNKNOWN = object()  # a value the service resolves at run time
SETTINGS = {
    "StoppingCondition.MaxRuntimeInSeconds": "DEEPFAKE_MAX_RUNTIME_S",
    "ProcessingResources.ClusterConfig.VolumeSizeInGB": "DEEPFAKE_PROCESSING_VOLUME_GB",
    "ResourceConfig.VolumeSizeInGB": "DEEPFAKE_TRAINING_VOLUME_GB",
}


@cache
def _operation(name: str) -> OperationModel:
    return botocore.session.get_session().get_service_model("sagemaker").operation_model(name)


def request_problems(step_type: str, arguments: Mapping[str, Any], defaults: Mapping[str, Any]) -> list[str]:
    """Every way `arguments` (a step's Arguments in a pipeline definition) breaks its operation's model."""
    if step_type not in OPERATIONS:
        return []
    operation = _operation(OPERATIONS[step_type])
    request = _resolve(arguments, defaults)
    problems = [] if request is UNKNOWN else list(_check(operation.input_shape, request, ""))
    concrete = _drop_unknown(request)
    report = ParamValidator().validate(concrete, operation.input_shape)
    if report.has_errors():
        # Its types and unknown names; ranges are checked above (with the max it skips), and a missing member may
        # be a value the service fills in at run time.
        lines = [line.strip() for line in report.generate_report().splitlines()[1:]]
        problems += [line for line in lines if line.startswith(("Invalid type", "Unknown parameter"))]
    return [f"{OPERATIONS[step_type]}: {problem}" for problem in problems]


def setting_for(problem: str) -> str | None:
    return next((setting for field, setting in SETTINGS.items() if field in problem), None)


def _resolve(value: Any, defaults: Mapping[str, Any]) -> Any:
    """Parameters become their defaults; joins of known parts become strings; other expressions stay unknown."""
    if isinstance(value, dict):
        if set(value) == {"Get"}:
            reference = value["Get"]
            if isinstance(reference, str) and reference.startswith("Parameters."):
                return defaults.get(reference.removeprefix("Parameters."), UNKNOWN)
            return UNKNOWN
        if set(value) == {"Std:Join"}:
            parts = [_resolve(part, defaults) for part in value["Std:Join"]["Values"]]
            if any(part is UNKNOWN for part in parts):
                return UNKNOWN
            return str(value["Std:Join"]["On"]).join(str(part) for part in parts)
        if set(value) & {"Std:JsonGet", "Std:Concat"}:
            return UNKNOWN
        return {key: _resolve(item, defaults) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, defaults) for item in value]
    return value


def _drop_unknown(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _drop_unknown(item) for key, item in value.items() if item is not UNKNOWN}
    if isinstance(value, list):
        return [_drop_unknown(item) for item in value if item is not UNKNOWN]
    return value


def _check(shape: Shape, value: Any, path: str) -> Iterator[str]:
    if value is UNKNOWN:
        return
    metadata = shape.metadata
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for name, item in value.items():
            if name in shape.members:
                yield from _check(shape.members[name], item, f"{path}.{name}" if path else name)
        return
    if isinstance(shape, ListShape) and isinstance(value, list):
        yield from _length(path, len(value), metadata, "items")
        for index, item in enumerate(value):
            yield from _check(shape.member, item, f"{path}[{index}]")
        return
    if isinstance(shape, MapShape) and isinstance(value, dict):
        yield from _length(path, len(value), metadata, "entries")
        for key, item in value.items():
            yield from _check(shape.key, key, f"{path} key {key!r}")
            yield from _check(shape.value, item, f"{path}.{key}")
        return
    if shape.type_name == "string" and isinstance(value, str):
        yield from _length(path, len(value), metadata, "characters")
        if shape.enum and value not in shape.enum:
            shown = ", ".join(shape.enum[:6]) + (f" … ({len(shape.enum)} in all)" if len(shape.enum) > 6 else "")
            yield f"{path} = {value!r} is not one of the service's values ({shown})"
        pattern = metadata.get("pattern")
        if pattern and not _fullmatch(pattern, value):
            yield f"{path} = {value!r} does not match the service's pattern {pattern}"
    elif shape.type_name in ("integer", "long", "float", "double") and isinstance(value, int | float):
        if "min" in metadata and value < metadata["min"]:
            yield f"{path} = {value} is under the service's minimum of {metadata['min']}"
        if "max" in metadata and value > metadata["max"]:
            yield f"{path} = {value} is over the service's limit of {metadata['max']}"


def _length(path: str, length: int, metadata: Mapping[str, Any], unit: str) -> Iterator[str]:
    if "min" in metadata and length < metadata["min"]:
        yield f"{path} has {length} {unit}, under the service's minimum of {metadata['min']}"
    if "max" in metadata and length > metadata["max"]:
        yield f"{path} has {length} {unit}, over the service's limit of {metadata['max']}"


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None  # a Java-only construct: the service checks it


def _fullmatch(pattern: str, value: str) -> bool:
    """Smithy patterns are not implicitly anchored: the service's own ones carry ^ and $ where they mean them."""
    compiled = _compiled(pattern)
    return compiled is None or compiled.search(value) is not None
