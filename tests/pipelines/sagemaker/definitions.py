"""Reading compiled SageMaker pipeline definitions in tests: steps, expression values and what each step references.

`resolve` and `condition_holds` evaluate the definition's expressions the way the SageMaker Pipelines service does
(Get of a parameter, Std:Join, Std:JsonGet on a property file, the condition types), so a test can compare what a
SageMaker job would receive with what the local runner passes.
"""

import importlib
import json
import operator
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from deepfake.components.definition import Component
from deepfake.components.spec import ComponentSpec
from deepfake.pipelines.sagemaker.compiler import SageMakerTarget
from deepfake.pipelines.settings import Settings

REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
# Every setting the compiler reads, given explicitly, so no DEEPFAKE_* variable of the machine changes the output.
PLACEHOLDER_SETTINGS: dict[str, Any] = {
    "region": "eu-west-1",
    "pipeline_role_arn": "arn:aws:iam::123456789012:role/deepfake-pipeline",
    "bucket": "deepfake-pipeline-artifacts",
    "image_registry": REGISTRY,
    "images_manifest": Path("tests/pipelines/sagemaker/golden/no-images-manifest.json"),
    "processing_instance_type": "ml.m5.xlarge",
    "training_instance_type": "ml.g5.xlarge",
    "processing_volume_gb": 30,
    "training_volume_gb": 50,
    "max_runtime_s": 86400,
    "sharded_inputs": {"extract-faces": "videos"},
    "step_cache": True,
    "cache_expire_after": "P30D",
    "training_checkpoints": True,
}
BRANCH_KEYS = ("IfSteps", "ElseSteps")
REGISTER_SUFFIX = "-RegisterModel"
SAGEMAKER_CONDITIONS: dict[str, Callable[[Any, Any], bool]] = {
    "GreaterThanOrEqualTo": operator.ge,
    "LessThanOrEqualTo": operator.le,
    "GreaterThan": operator.gt,
    "LessThan": operator.lt,
    "Equals": operator.eq,
}


def placeholder_settings(**changes: Any) -> Settings:
    return Settings(**{**PLACEHOLDER_SETTINGS, **changes})


def placeholder_target(**changes: Any) -> SageMakerTarget:
    return SageMakerTarget.from_settings(placeholder_settings(**changes))


def all_steps(definition: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every step by its DAG name, including those inside condition branches."""
    found: dict[str, dict[str, Any]] = {}

    def visit(steps: list[dict[str, Any]]) -> None:
        for step in steps:
            found[dag_name(step)] = step
            for key in BRANCH_KEYS:
                visit(step.get("Arguments", {}).get(key, []))

    visit(definition["Steps"])
    return found


def dag_name(step: Mapping[str, Any]) -> str:
    """The SDK names a registration `<name>-RegisterModel`."""
    name = step["Name"]
    return name.removesuffix(REGISTER_SUFFIX) if step["Type"] == "RegisterModel" else name


def branch_owners(definition: Mapping[str, Any]) -> dict[str, str]:
    """Step name → the condition whose branch holds it."""
    owners = {}
    for name, step in all_steps(definition).items():
        for key in BRANCH_KEYS:
            for inner in step.get("Arguments", {}).get(key, []):
                owners[dag_name(inner)] = name
    return owners


def referenced_steps(value: Any) -> set[str]:
    """Steps named by `Get: Steps.<name>...` anywhere in `value`, not descending into branch steps."""
    if isinstance(value, dict):
        found = set()
        for key, inner in value.items():
            if key in BRANCH_KEYS:
                continue
            if key == "Get" and isinstance(inner, str) and inner.startswith("Steps."):
                found.add(inner.split(".")[1])
            else:
                found |= referenced_steps(inner)
        return found
    if isinstance(value, list):
        return set().union(*(referenced_steps(inner) for inner in value)) if value else set()
    return set()


def dependencies(step: Mapping[str, Any], owners: Mapping[str, str]) -> set[str]:
    """What a compiled step waits for: property references, DependsOn, and the condition guarding it."""
    found = referenced_steps(step.get("Arguments", {})) | referenced_steps(step.get("PropertyFiles", []))
    found |= set(step.get("DependsOn", []))
    guard = owners.get(dag_name(step))
    return found | ({guard} if guard else set())


def resolve(expression: Any, parameters: Mapping[str, Any], json_get: Callable[[dict], Any] | None = None) -> Any:
    """The value SageMaker gives an expression at run time; Join renders non-strings as JSON text."""
    if isinstance(expression, list):
        return [resolve(item, parameters, json_get) for item in expression]
    if not isinstance(expression, dict):
        return expression
    if not {"Get", "Std:Join", "Std:JsonGet"} & set(expression):  # a mapping of expressions (hyperparameters)
        return {key: resolve(value, parameters, json_get) for key, value in expression.items()}
    if "Get" in expression and expression["Get"].startswith("Parameters."):
        return parameters[expression["Get"].removeprefix("Parameters.")]
    if "Std:Join" in expression:
        join = expression["Std:Join"]
        values = [resolve(item, parameters, json_get) for item in join["Values"]]
        return join["On"].join(value if isinstance(value, str) else json.dumps(value) for value in values)
    if "Std:JsonGet" in expression and json_get is not None:
        return json_get(expression["Std:JsonGet"])
    raise AssertionError(f"cannot resolve {expression} here")


def condition_holds(condition: Mapping[str, Any], parameters: Mapping[str, Any], json_get: Callable) -> bool:
    kind = condition["Type"]
    if kind == "Not":
        return not condition_holds(condition["Condition"], parameters, json_get)
    if kind == "Or":
        return any(condition_holds(inner, parameters, json_get) for inner in condition["Conditions"])
    left = resolve(condition["LeftValue"], parameters, json_get)
    right = resolve(condition["RightValue"], parameters, json_get)
    return SAGEMAKER_CONDITIONS[kind](left, right)


def component_of(spec: ComponentSpec) -> Component:
    """The implementation behind a spec, found from its entry module (`python -m <module>`)."""
    module = importlib.import_module(spec.entrypoint[-1])
    component = getattr(module, "COMPONENT", None)
    if component is None:
        component = importlib.import_module(f"{spec.entrypoint[-1]}.component").COMPONENT
    assert isinstance(component, Component) and component.spec == spec
    return component


def property_file(steps: Mapping[str, Mapping[str, Any]], json_get: Mapping[str, Any]) -> tuple[str, str, str]:
    """(step, output, file) that a `Std:JsonGet` reads."""
    reference = json_get["PropertyFile"]["Get"].removeprefix("Steps.")
    step_name, _, file_name = reference.partition(".PropertyFiles.")
    declared = next(item for item in steps[step_name]["PropertyFiles"] if item["PropertyFileName"] == file_name)
    return step_name, declared["OutputName"], declared["FilePath"]


def json_gets(value: Any) -> list[dict[str, Any]]:
    """Every `Std:JsonGet` in `value`."""
    if isinstance(value, dict):
        found = [value["Std:JsonGet"]] if "Std:JsonGet" in value else []
        return found + [get for inner in value.values() for get in json_gets(inner)]
    if isinstance(value, list):
        return [get for inner in value for get in json_gets(inner)]
    return []


def processing_inputs(step: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A step without inputs has no ProcessingInputs key at all."""
    return {item["InputName"]: item["S3Input"] for item in step["Arguments"].get("ProcessingInputs", [])}


def processing_outputs(step: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["OutputName"]: item["S3Output"] for item in step["Arguments"]["ProcessingOutputConfig"]["Outputs"]}
