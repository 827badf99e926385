"""Find pipelines and components by name: `module:attr` or `path/to/file.py:attr`, and packages of components."""

import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path

from deepfake.components.definition import Component
from deepfake.pipelines.dag import Pipeline

BUILTIN_PIPELINES = {
    "deepfake": "deepfake.pipelines.builtin.deepfake:pipeline",
    "batch-scoring": "deepfake.pipelines.builtin.batch_scoring:pipeline",
}


class LoadError(ValueError):
    """A pipeline or component reference that does not resolve; the message says what was looked for."""


def load_pipeline(reference: str) -> Pipeline:
    """A built-in name, or `module:attr` / `path.py:attr` where `attr` is a Pipeline or a function returning one."""
    location, _, attribute = BUILTIN_PIPELINES.get(reference, reference).rpartition(":")
    if not location or not attribute:
        raise LoadError(
            f"pipeline {reference!r}: expected one of {', '.join(BUILTIN_PIPELINES)}, 'module:attribute' or"
            " 'path/to/file.py:attribute'"
        )
    module = _import_file(Path(location)) if location.endswith(".py") else _import_module(location)
    if not hasattr(module, attribute):
        defined = sorted(name for name, value in vars(module).items() if isinstance(value, Pipeline))
        raise LoadError(
            f"pipeline {reference!r}: {location} has no attribute '{attribute}'"
            f" (Pipeline objects there: {', '.join(defined) or 'none'})"
        )
    target = getattr(module, attribute)
    if callable(target) and not isinstance(target, Pipeline):
        target = target()
    if not isinstance(target, Pipeline):
        raise LoadError(
            f"pipeline {reference!r}: '{attribute}' in {location} is not a Pipeline (or a function returning one)"
        )
    return target


def discover_components(package: str) -> list[Component]:
    """Every module-level `COMPONENT` in the package tree, sorted by name."""
    root = _import_module(package)
    found = {}
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), prefix=f"{package}."):
        if info.name.endswith(".__main__"):
            continue
        component = getattr(importlib.import_module(info.name), "COMPONENT", None)
        if isinstance(component, Component):
            found[component.name] = component
    return [found[name] for name in sorted(found)]


def _import_module(name: str):
    _working_dir_on_path()
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise LoadError(f"cannot import {name!r}: {exc}") from exc


def _import_file(path: Path):
    """Execute a pipeline file; its imports resolve from the working directory, as the step subprocesses' do."""
    if not path.is_file():
        raise LoadError(f"no such pipeline file: {path}")
    _working_dir_on_path()
    spec = importlib.util.spec_from_file_location(f"_pipeline_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _working_dir_on_path() -> None:
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
