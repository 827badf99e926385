"""The in-container runtime: resolve the SageMaker contract, validate params, run, report failure.

Every stage's `__main__` calls `main(COMPONENT)`. It never knows whether it runs on SageMaker, under `docker run`
or as a local subprocess: all three look the same from here, rooted at `SAGEMAKER_BASE_DIR` (default `/opt/ml`).
"""

import json
import logging
import os
import sys
import tempfile
import traceback
from pathlib import Path

from pydantic import BaseModel

from deepfake.components.artifacts import ArtifactError, unpack_archive
from deepfake.components.context import RunContext
from deepfake.components.contract import (
    BASE_DIR_ENV,
    DEFAULT_BASE_DIR,
    MODEL_OUTPUT,
    TRAIN_COMMAND,
    ComponentKind,
    ContainerLayout,
    truncate_reason,
)
from deepfake.components.definition import Component
from deepfake.components.params import ParamsError, decode_params

log = logging.getLogger("deepfake.components.runtime")
CONTRACT_ERRORS = (ParamsError, ArtifactError)


def main(component: Component, argv: list[str] | None = None) -> int:
    """Run `component` on the contract; return the process exit code (0 ok, 1 failed, 2 bad params)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    layout = ContainerLayout(component.kind, Path(os.environ.get(BASE_DIR_ENV, DEFAULT_BASE_DIR)))
    args = sys.argv[1:] if argv is None else argv
    try:
        params = read_params(component, layout, args)
    except ParamsError as exc:
        return _fail(layout, f"invalid parameters for {component.name}: {exc}", code=2)
    log.info("%s %s: %s", component.name, component.version, params.model_dump_json())
    try:
        with tempfile.TemporaryDirectory(prefix="unpacked-") as scratch:
            context = resolve_context(component, layout, Path(scratch))
            component.run(params, context)
            for name, spec in component.outputs.items():
                spec.type.check(context.outputs[name])
    except CONTRACT_ERRORS as exc:
        return _fail(layout, str(exc))
    except Exception as exc:
        log.error("%s failed:\n%s", component.name, traceback.format_exc())
        return _fail(layout, f"{type(exc).__name__}: {exc}")
    return 0


def read_params(component: Component, layout: ContainerLayout, args: list[str]) -> BaseModel:
    if component.kind is ComponentKind.TRAINING:
        if args not in ([], [TRAIN_COMMAND]):
            raise ParamsError(f"a training container takes no arguments but '{TRAIN_COMMAND}'; got {args}")
        return decode_params(component.params, read_hyperparameters(layout.hyperparameters_file))
    return decode_params(component.params, parse_arguments(args))


def read_hyperparameters(path: Path) -> dict[str, str]:
    """SageMaker writes every value as a JSON string; its own `sagemaker_*` keys are not ours."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ParamsError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ParamsError(f"{path} must hold a JSON object of parameter names to values")
    return {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in data.items()
        if not key.startswith("sagemaker_")
    }


def parse_arguments(args: list[str]) -> dict[str, str]:
    """Container arguments `--face-size 224` or `--face-size=224` → {"face_size": "224"}."""
    raw: dict[str, str] = {}
    position = 0
    while position < len(args):
        token = args[position]
        if not token.startswith("--") or token == "--":
            raise ParamsError(f"unexpected argument {token!r}: parameters are passed as --name value")
        flag, has_value, value = token[2:].partition("=")
        if not has_value:
            if position + 1 >= len(args):
                raise ParamsError(f"--{flag} needs a value")
            position += 1
            value = args[position]
        name = flag.replace("-", "_")
        if name in raw:
            raise ParamsError(f"--{flag} is given twice")
        raw[name] = value
        position += 1
    return raw


def resolve_context(component: Component, layout: ContainerLayout, scratch: Path) -> RunContext:
    """Find every input (checking its artifact type), create the output folders, read the cluster shape."""
    inputs = {}
    for name, spec in component.inputs.items():
        folder = _channel_dir(layout, name)
        if not folder.exists():
            if spec.optional:
                continue
            raise ArtifactError(f"required input '{name}' is missing: expected {spec.type.name} at {folder}")
        if spec.type.archive and (folder / spec.type.archive).is_file():
            unpack_archive(folder / spec.type.archive, scratch / name)
            folder = scratch / name
        spec.type.check(folder)
        inputs[name] = folder
    outputs = {}
    for name in component.outputs:
        folder = _model_dir(layout) if component.kind is ComponentKind.TRAINING else layout.output_dir(name)
        folder.mkdir(parents=True, exist_ok=True)
        outputs[name] = folder
    hosts, current_host = _cluster(layout)
    training = component.kind is ComponentKind.TRAINING
    output_data = Path(os.environ.get("SM_OUTPUT_DATA_DIR", layout.output_data_dir)) if training else None
    checkpoints = layout.checkpoint_dir if training else None
    for extra in (output_data, checkpoints):
        if extra is not None:
            extra.mkdir(parents=True, exist_ok=True)
    return RunContext(inputs, outputs, hosts, current_host, output_data, checkpoints)


def _channel_dir(layout: ContainerLayout, name: str) -> Path:
    if layout.kind is ComponentKind.TRAINING and f"SM_CHANNEL_{name.upper()}" in os.environ:
        return Path(os.environ[f"SM_CHANNEL_{name.upper()}"])
    return layout.input_dir(name)


def _model_dir(layout: ContainerLayout) -> Path:
    return Path(os.environ.get("SM_MODEL_DIR", layout.output_dir(MODEL_OUTPUT)))


def _cluster(layout: ContainerLayout) -> tuple[tuple[str, ...], str]:
    """`SM_HOSTS`/`SM_CURRENT_HOST` first (training toolkits set them), else the resource config file."""
    if "SM_HOSTS" in os.environ and "SM_CURRENT_HOST" in os.environ:
        return tuple(json.loads(os.environ["SM_HOSTS"])), os.environ["SM_CURRENT_HOST"]
    if layout.resource_config_file.is_file():
        config = json.loads(layout.resource_config_file.read_text())
        return tuple(config["hosts"]), config["current_host"]
    return ("algo-1",), "algo-1"


def _fail(layout: ContainerLayout, reason: str, code: int = 1) -> int:
    log.error(reason)
    layout.failure_file.parent.mkdir(parents=True, exist_ok=True)
    layout.failure_file.write_text(truncate_reason(reason))
    return code
