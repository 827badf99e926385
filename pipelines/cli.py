"""`python -m pipelines`: run pipelines and list or export components."""

import argparse
import sys
from pathlib import Path

from components.spec import ComponentLoadError
from pipelines.dag import PipelineDefinitionError
from pipelines.loading import LoadError, discover_components, load_pipeline
from pipelines.local import LocalRunner
from pipelines.records import RunRecord, StepState
from pipelines.settings import Settings

USER_ERRORS = (LoadError, PipelineDefinitionError, ComponentLoadError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipelines", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a pipeline", description="Run a pipeline DAG.")
    run.add_argument(
        "pipeline", help="a built-in pipeline (deepfake, quickstart), 'module:attribute' or 'path/to/file.py:attribute'"
    )
    run.add_argument("--target", choices=["local"], default="local", help="where to run (default: local)")
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a pipeline parameter (repeatable)",
    )
    run.add_argument("--runs-dir", type=Path, help="where runs and the step cache live (default: settings)")
    run.add_argument("--no-cache", action="store_true", help="run every step even when a cached result exists")
    run.add_argument("--quiet", action="store_true", help="do not stream step logs (they are still in step.log)")

    components = commands.add_parser("components", help="list or export component specs")
    actions = components.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="list the components of a package")
    export = actions.add_parser("export", help="write each component's spec as <name>.json")
    export.add_argument("directory", type=Path)
    for sub in (listing, export):
        sub.add_argument("--package", default="components", help="package to search (default: components)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return run_pipeline(args)
        if args.action == "list":
            return list_components(args.package)
        return export_components(args.package, args.directory)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def run_pipeline(args: argparse.Namespace) -> int:
    pipeline = load_pipeline(args.pipeline)
    arguments = {}
    for item in args.param:
        name, separator, value = item.partition("=")
        if not separator:
            raise PipelineDefinitionError(f"--param {item!r}: expected NAME=VALUE")
        arguments[name] = value
    runs_dir = args.runs_dir or Settings().runs_dir
    runner = LocalRunner(runs_dir, use_cache=not args.no_cache, stream_logs=not args.quiet)
    record = runner.run(pipeline, arguments)
    print(summary(record))
    return 0 if record.state is StepState.SUCCEEDED else 1


def summary(record: RunRecord) -> str:
    lines = [f"\n{record.pipeline} {record.execution_id}: {record.state.value} in {record.duration_s:.2f}s"]
    for step in record.steps.values():
        took = f"{step.duration_s:.2f}s" if step.duration_s is not None else ""
        note = f"from {step.cached_from}" if step.cached_from else (step.reason or "")
        lines.append(f"  {step.name:<24} {step.state.value:<9} {took:>8}  {note}".rstrip())
        lines.extend(f"      {name}: {artifact.path}" for name, artifact in step.outputs.items())
    reused = sum(step.state is StepState.CACHED for step in record.steps.values())
    reusable = sum(step.type not in ("condition", "fail") for step in record.steps.values())
    lines.append(f"  {reused} of {reusable} steps reused from cache")
    for step in record.steps.values():
        if step.package:
            group, version = step.package["group"], step.package["version"]
            lines.append(f"registered: {step.reason}; model data {step.package['model_data']}")
            command = f"python -m deploy --group {group} approve {version}"
            lines.append(f"next: approve it with `make approve VERSION={version}` ({command})")
    if record.failure:
        lines.append(f"FAILED: {record.failure}")
    lines.append(f"record: {record.folder / 'run.json'}")
    lines.append(f"report: {record.folder / 'report.md'}")
    return "\n".join(lines)


def list_components(package: str) -> int:
    components = discover_components(package)
    if not components:
        print(f"no components in package {package!r}")
        return 0
    for component in components:
        spec = component.spec
        inputs = ", ".join(f"{name}:{port.type.name}" for name, port in spec.inputs.items()) or "-"
        outputs = ", ".join(f"{name}:{port.type.name}" for name, port in spec.outputs.items()) or "-"
        print(f"{spec.name:<24} {spec.version:<8} {spec.kind.value:<10} in: {inputs}  out: {outputs}")
    return 0


def export_components(package: str, directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    for component in discover_components(package):
        path = directory / f"{component.name}.json"
        path.write_text(component.spec.to_json())
        print(path)
    return 0
