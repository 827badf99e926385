"""`python -m deepfake.pipelines compile` and `run --target sagemaker`.

The compiler module (and with it the `sagemaker` SDK, ~3 s to import) is imported only when one of these runs, so
the local and docker targets never load it.
"""

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path

from deepfake.pipelines.dag import Pipeline, PipelineDefinitionError
from deepfake.pipelines.dag.loading import load_pipeline
from deepfake.pipelines.registry import ModelRegistry
from deepfake.pipelines.sagemaker.target import SageMakerTarget
from deepfake.pipelines.settings import Settings

EXIT_TIMED_OUT = 3
SETTING_FLAGS = {
    "region": "region",
    "role_arn": "pipeline_role_arn",
    "bucket": "bucket",
    "image_registry": "image_registry",
    "images_manifest": "images_manifest",
}


def add_compile_command(commands: argparse._SubParsersAction) -> None:
    compile_parser = commands.add_parser(
        "compile",
        help="compile a pipeline to a SageMaker pipeline definition (JSON)",
        description="Write the SageMaker pipeline definition of a DAG: stable, key-sorted JSON. No AWS call is made.",
    )
    compile_parser.add_argument("pipeline", help="a built-in pipeline, 'module:attribute' or 'path/to/file.py:attr'")
    compile_parser.add_argument("--out", type=Path, help="write the definition here (default: standard output)")
    compile_parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="default of a pipeline parameter in the definition, e.g. InputData=s3://bucket/prefix (repeatable)",
    )
    add_sagemaker_options(compile_parser)


def add_sagemaker_options(parser: argparse.ArgumentParser) -> None:
    """Flags that override the SageMaker settings (DEEPFAKE_* environment variables) for one command."""
    group = parser.add_argument_group("SageMaker (override DEEPFAKE_* settings)")
    group.add_argument("--region", help="region of the pipeline (DEEPFAKE_REGION)")
    group.add_argument("--role-arn", help="IAM role of the pipeline and its jobs (DEEPFAKE_PIPELINE_ROLE_ARN)")
    group.add_argument("--bucket", help="S3 bucket for step outputs (DEEPFAKE_BUCKET)")
    group.add_argument("--image-registry", help="registry of the images without a manifest (DEEPFAKE_IMAGE_REGISTRY)")
    group.add_argument("--images-manifest", type=Path, help="pushed images (DEEPFAKE_IMAGES_MANIFEST)")


def add_wait_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("SageMaker execution (--target sagemaker)")
    group.add_argument(
        "--wait-timeout",
        type=float,
        metavar="SECONDS",
        help=f"stop waiting after this long, exit {EXIT_TIMED_OUT} (DEEPFAKE_PIPELINE_WAIT_SECONDS)",
    )
    group.add_argument("--no-wait", action="store_true", help="start the execution and exit")


def settings_from(args: argparse.Namespace) -> Settings:
    overrides = {setting: getattr(args, flag) for flag, setting in SETTING_FLAGS.items() if getattr(args, flag, None)}
    if getattr(args, "no_cache", False):
        overrides["step_cache"] = False
    return Settings(**overrides)


def compile_command(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    pipeline, target = load_pipeline(args.pipeline), SageMakerTarget.from_settings(settings)
    from deepfake.pipelines.sagemaker.compiler import compile_pipeline  # settings first: a mistake costs no SDK import

    compiled = compile_pipeline(pipeline, target, parse_params(args.param), settings.project_name)
    if args.out is None:
        sys.stdout.write(compiled.to_json())
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(compiled.to_json())
    print(f"{compiled.name}: {len(compiled.definition['Steps'])} top-level steps, written to {args.out}")
    return 0


def run_on_sagemaker(args: argparse.Namespace, pipeline: Pipeline, arguments: Mapping[str, str]) -> int:
    """Compile, upsert, start and (unless --no-wait) wait; exit 0 succeeded, 1 failed or stopped, 3 still running."""
    settings = settings_from(args)
    target = SageMakerTarget.from_settings(settings)
    from deepfake.pipelines.sagemaker.compiler import compile_pipeline
    from deepfake.pipelines.sagemaker.execution import SageMakerRunError, SageMakerRunner

    compiled = compile_pipeline(pipeline, target, arguments, settings.project_name)
    runner = SageMakerRunner(
        target.region,
        target.pipeline_role_arn,
        project_name=settings.project_name,
        project_id=settings.project_id,
        poll_seconds=settings.pipeline_poll_seconds,
    )
    try:
        runner.ensure_model_groups(compiled.model_groups)
        runner.upsert(compiled.name, compiled.to_json(), compiled.description)
        arn = runner.start(compiled.name, arguments)
        if args.no_wait:
            print(f"{compiled.name}: started {arn}")
            return 0
        timeout = settings.pipeline_wait_seconds if args.wait_timeout is None else args.wait_timeout
        result = runner.wait(arn, timeout)
    except SageMakerRunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"\n{result.pipeline} {result.arn}: {result.status}")
    for name, status in result.steps.items():
        reason = result.step_failures.get(name, "")
        print(f"  {name:<32} {status:<10} {reason}".rstrip())
    if result.failure_reason:
        print(f"FAILED: {result.failure_reason}")
    if result.timed_out:
        print(f"still {result.status} after {timeout:g}s; the execution goes on (follow it in SageMaker Studio or with")
        print(f"  aws sagemaker describe-pipeline-execution --pipeline-execution-arn {result.arn})")
        return EXIT_TIMED_OUT
    return 0 if result.status == "Succeeded" else 1


def run_in_local_mode(
    args: argparse.Namespace, pipeline: Pipeline, arguments: Mapping[str, str], registry: ModelRegistry
) -> int:
    """The SDK's local mode; exit 0 when its execution succeeded, 1 when it failed."""
    target = SageMakerTarget.from_settings(settings_from(args), local_mode=True)
    from deepfake.pipelines.sagemaker.local_mode import run_local_mode

    result = run_local_mode(pipeline, target, arguments, registry)
    print(f"\n{pipeline.name} {result.execution_id} (sagemaker-local): {result.status}")
    for name, status in result.steps.items():
        print(f"  {name:<32} {status}")
    for name, uri in result.outputs.items():
        print(f"      {name}: {uri}")
    for package in result.registered:
        print(f"registered: {package}")
    if result.failure_reason:
        print(f"FAILED: {result.failure_reason}")
    return 0 if result.status == "Succeeded" else 1


def parse_params(items: list[str]) -> dict[str, str]:
    arguments = {}
    for item in items:
        name, separator, value = item.partition("=")
        if not separator:
            raise PipelineDefinitionError(f"--param {item!r}: expected NAME=VALUE")
        arguments[name] = value
    return arguments
