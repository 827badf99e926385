"""`python -m deepfake.pipelines`: run pipelines; list, export or catalogue components."""

import argparse
import importlib
import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from deepfake.components.spec import ComponentLoadError
from deepfake.pipelines.cli.describe import describe, describe_markdown
from deepfake.pipelines.cli.images import add_images_commands, images_command
from deepfake.pipelines.cli.sagemaker import (
    add_compile_command,
    add_sagemaker_options,
    add_wait_options,
    compile_command,
    parse_params,
    run_in_local_mode,
    run_on_sagemaker,
)
from deepfake.pipelines.dag import PipelineDefinitionError
from deepfake.pipelines.dag.catalogue import CATALOGUE_FILE, render_catalogue
from deepfake.pipelines.dag.loading import BUILTIN_PIPELINES, LoadError, discover_components, load_pipeline
from deepfake.pipelines.images.manifest import ImagesManifestError
from deepfake.pipelines.images.resolver import ImageResolver
from deepfake.pipelines.images.targets import COMPONENTS_PACKAGE
from deepfake.pipelines.local.docker import DockerLauncher
from deepfake.pipelines.local.records import RunRecord, StepState
from deepfake.pipelines.local.runner import LocalRunner
from deepfake.pipelines.registry import LocalRegistry
from deepfake.pipelines.settings import AwsSetupError, Settings, aws_setup_error

USER_ERRORS = (LoadError, PipelineDefinitionError, ComponentLoadError, ImagesManifestError, AwsSetupError)
PIPELINE_HELP = (
    f"a built-in pipeline ({', '.join(BUILTIN_PIPELINES)}), 'module:attribute' or 'path/to/file.py:attribute'"
    " (`describe <pipeline>` lists its parameters)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deepfake.pipelines", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a pipeline", description="Run a pipeline DAG.")
    run.add_argument("pipeline", help=PIPELINE_HELP)
    run.add_argument(
        "--target",
        choices=["local", "docker", "sagemaker", "sagemaker-local"],
        default="local",
        help="where to run: this machine's runner (local; docker: each step in its image), SageMaker, or the SageMaker"
        " SDK's local mode in docker (sagemaker-local) (default: local)",
    )
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
    add_wait_options(run)
    add_sagemaker_options(run)
    add_compile_command(commands)

    describe_parser = commands.add_parser(
        "describe",
        help="list a pipeline's parameters: type, default, description and what each sets",
        description="List a pipeline's steps and parameters: type, default, choices, description, what each sets.",
    )
    describe_parser.add_argument("pipeline", help=PIPELINE_HELP)
    describe_parser.add_argument("--markdown", action="store_true", help="a Markdown table (as the README lists)")

    components = commands.add_parser("components", help="list, export or catalogue component specs")
    actions = components.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="list the components of a package")
    export = actions.add_parser("export", help="write each component's spec as <name>.json")
    export.add_argument("directory", type=Path)
    export.add_argument(
        "--name", action="append", default=[], help="export only this component (repeatable; default: all)"
    )
    catalogue = actions.add_parser(
        "catalogue", help=f"write the package's {CATALOGUE_FILE}: a table of every component's spec"
    )
    catalogue.add_argument(
        "--output", type=Path, help=f"where to write it (default: <package folder>/{CATALOGUE_FILE})"
    )
    catalogue.add_argument("--check", action="store_true", help="write nothing; exit 1 when the file is out of date")
    for sub in (listing, export, catalogue):
        sub.add_argument(
            "--package", default=COMPONENTS_PACKAGE, help=f"package to search (default: {COMPONENTS_PACKAGE})"
        )
    add_images_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return run_pipeline(args)
        if args.command == "images":
            return images_command(args)
        if args.command == "compile":
            return compile_command(args)
        if args.command == "describe":
            pipeline = load_pipeline(args.pipeline)
            sys.stdout.write(describe_markdown(pipeline) if args.markdown else describe(pipeline))
            return 0
        if args.action == "list":
            return list_components(args.package)
        if args.action == "catalogue":
            return write_catalogue(args.package, args.output, args.check)
        return export_components(args.package, args.directory, args.name)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        if (setup := aws_setup_error(exc)) is None:
            raise
        print(f"error: {setup}", file=sys.stderr)
        return 2


def run_pipeline(args: argparse.Namespace) -> int:
    pipeline = load_pipeline(args.pipeline)
    arguments = parse_params(args.param)
    if args.target == "sagemaker":
        return run_on_sagemaker(args, pipeline, arguments)
    runs_dir = args.runs_dir or Settings().runs_dir
    if args.target == "sagemaker-local":
        return run_in_local_mode(args, pipeline, arguments, LocalRegistry(runs_dir / "registry"))
    # docker: each step runs in its component's image (images manifest or settings), otherwise as a subprocess.
    launcher = DockerLauncher(ImageResolver.from_settings(Settings())) if args.target == "docker" else None
    runner = LocalRunner(runs_dir, launcher=launcher, use_cache=not args.no_cache, stream_logs=not args.quiet)
    try:
        record = runner.run(pipeline, arguments)
    except OSError as exc:  # the runs folder itself: a read-only or full disk, not a step's failure
        print(
            f"error: cannot write the run under {runs_dir} ({exc.strerror or exc}: {exc.filename}); set"
            " DEEPFAKE_RUNS_DIR or --runs-dir to a writable folder",
            file=sys.stderr,
        )
        return 2
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
            command = f"python -m deepfake.deploy --group {group} approve {version}"
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


def export_components(package: str, directory: Path, names: list[str] | None = None) -> int:
    components = discover_components(package)
    unknown = sorted(set(names or ()) - {component.name for component in components})
    if unknown:
        found = ", ".join(component.name for component in components) or "none"
        raise LoadError(f"--name {', '.join(unknown)}: no such component in package {package!r} (found: {found})")
    directory.mkdir(parents=True, exist_ok=True)
    for component in components:
        if names and component.name not in names:
            continue
        path = directory / f"{component.name}.json"
        path.write_text(component.spec.to_json())
        print(path)
    return 0


def write_catalogue(package: str, output: Path | None, check: bool) -> int:
    """With `check`, a stale or missing file exits 1 (what CI runs); otherwise the file is rewritten."""
    text = render_catalogue([component.spec for component in discover_components(package)], package)
    path = output or Path(importlib.import_module(package).__file__ or "").parent / CATALOGUE_FILE
    current = path.read_text() if path.is_file() else None
    if check:
        if current != text:
            print(f"{path} is out of date with the component specs: run `make catalogue`", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    if current != text:
        path.write_text(text)
    print(path)
    return 0
