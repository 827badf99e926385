"""`python -m deepfake.deploy`: the model registry and the rollout (approve → staging + smoke test → promote → prod).

Locally (`--target local`, the default) the registry is the SQLite one the local pipeline registers into and each
stage is a serving process on 127.0.0.1; with `--target sagemaker` the registry is SageMaker Model Registry and each
stage a CloudFormation stack of a SageMaker endpoint (the same commands CodePipeline's buildspecs run).
"""

import argparse
import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from deepfake.deploy.lock import stage_changes
from deepfake.deploy.rollout import History, Rollout
from deepfake.deploy.smoke import smoke_test
from deepfake.deploy.stages import DeployError, Stage, StageConfigError, StageTarget
from deepfake.pipelines.registry import ApprovalStatus, LocalRegistry, ModelRegistry, RegistryError
from deepfake.pipelines.settings import Settings, aws_setup_error

DEFAULT_GROUP = "deepfake-detector"
USER_ERRORS = (RegistryError, DeployError, StageConfigError, ValueError)
STAGE_CHANGES = ("approve", "rollout", "promote", "rollback", "stop")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deepfake.deploy", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--runs-dir",
        type=Path,
        help="the runs folder of the registry and the local stages (default: DEEPFAKE_RUNS_DIR or runs)",
    )
    parser.add_argument("--registry", type=Path, help="local registry folder (default: <runs>/registry)")
    parser.add_argument("--group", default=DEFAULT_GROUP, help=f"model package group (default: {DEFAULT_GROUP})")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--target", choices=["local", "sagemaker"], default="local", help="where stages run")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("models", parents=[common], help="list the group's versions, newest first")
    approve = commands.add_parser(
        "approve", parents=[common], help="approve a version (default: the newest) and roll it out to staging"
    )
    approve.add_argument("version", type=int, nargs="?")
    approve.add_argument("--no-rollout", action="store_true", help="only set the approval status")
    reject = commands.add_parser("reject", parents=[common], help="reject a registered version")
    reject.add_argument("version", type=int)
    commands.add_parser("rollout", parents=[common], help="deploy the newest approved version to staging")
    commands.add_parser("promote", parents=[common], help="deploy what staging serves to prod")
    commands.add_parser("status", parents=[common], help="what each stage serves, where, and its recent history")
    rollback = commands.add_parser("rollback", parents=[common], help="return a stage to what it served before")
    rollback.add_argument("--stage", type=Stage, choices=list(Stage), required=True)
    stop = commands.add_parser("stop", parents=[common], help="take a stage's endpoint down (default: both)")
    stop.add_argument("--stage", type=Stage, choices=list(Stage))
    smoke = commands.add_parser("smoke-test", parents=[common], help="invoke a stage with the sample clips")
    smoke.add_argument("--stage", type=Stage, choices=list(Stage), default=Stage.STAGING)
    smoke.add_argument("--out", type=Path, help="write the results JSON here")
    render = commands.add_parser("render", parents=[common], help="write <stage>-config-export.json for AWS")
    render.add_argument("--out", type=Path, required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings(**({"runs_dir": args.runs_dir} if args.runs_dir else {}))
    if args.target == "local":
        print(
            f"runs folder: {settings.runs_dir.resolve()} (--runs-dir or DEEPFAKE_RUNS_DIR to change)", file=sys.stderr
        )
    try:
        registry = _registry(args, settings)
        if args.command == "models":
            return list_models(registry, args.group)
        if args.command == "reject":
            package = registry.set_status(args.group, args.version, ApprovalStatus.REJECTED)
            print(f"{package.group} version {package.version}: {package.status.value}")
            return 0
        if args.command == "render":
            return render_configs(registry, args.group, settings, args.out)
        rollout = Rollout(
            registry,
            _target(args, settings),
            History(_deployments(args, settings) / "history.jsonl"),
            args.group,
            results_dir=_deployments(args, settings),
        )
        if args.command not in STAGE_CHANGES:
            return run_command(args, rollout)
        with stage_changes(_deployments(args, settings), settings.deploy_lock_timeout_seconds):
            return run_command(args, rollout)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, DeployError) else 2
    except (BotoCoreError, ClientError) as exc:
        if (setup := aws_setup_error(exc)) is None:
            raise
        print(f"error: {setup}", file=sys.stderr)
        return 2


def run_command(args: argparse.Namespace, rollout: Rollout) -> int:
    if args.command == "approve":
        version = args.version or _newest_version(rollout.registry, args.group)
        package = rollout.registry.set_status(args.group, version, ApprovalStatus.APPROVED)
        print(f"{package.group} version {package.version}: {package.status.value}")
        if args.no_rollout:
            return 0
        args.command = "rollout"
    if args.command == "rollout":
        event, result = rollout.to_staging()
        print(result.summary() if result else "")
        print(f"staging serves {event.group} version {event.version} at {event.endpoint}")
        print("next: make promote (deploys it to prod)")
        return 0
    if args.command == "promote":
        event, result = rollout.promote()
        print(result.summary() if result else "")
        print(f"prod serves {event.group} version {event.version} at {event.endpoint}")
        return 0
    if args.command == "rollback":
        event = rollout.rollback(args.stage)
        print(f"{args.stage.value}: rolled back version {event.version}; {event.detail}")
        return 0
    if args.command == "stop":
        return stop_stages(rollout, [args.stage] if args.stage else list(Stage))
    if args.command == "smoke-test":
        return run_smoke_test(rollout, args.stage, args.out)
    return show_status(rollout)


def list_models(registry: ModelRegistry, group: str) -> int:
    packages = registry.list(group)
    if not packages:
        print(f"no versions in model group '{group}': run the pipeline first (make pipeline-run)")
    for package in packages:
        auc = package.metrics.get("binary_classification_metrics", {}).get("auc", {}).get("value")
        shown = f"auc {auc:.4f}" if isinstance(auc, float) else ""
        print(f"{package.version:>4}  {package.status.value:<22} {package.created_at:%Y-%m-%d %H:%M}  {shown}")
    return 0


def show_status(rollout: Rollout) -> int:
    for stage in Stage:
        config = rollout.config(stage)
        serving = rollout.history.serving(stage)
        where, up = rollout.target.where(config)
        stray = rollout.target.stray(config)
        live = f"version {serving[-1]}" if serving else "nothing"
        state = "up, started elsewhere" if stray else "up" if up else "down"
        print(f"{stage.value:<8} serves {live:<12} at {where} ({state})")
        if stray:
            print(f"           {stray}")
        for event in rollout.history.events(stage)[-3:]:
            print(f"           {event.at:%Y-%m-%d %H:%M:%S} v{event.version} {event.outcome.value}: {event.detail}")
    return 0


def stop_stages(rollout: Rollout, stages: list[Stage]) -> int:
    """Exit 1 when a stage still answers after it: it was started with another runs folder."""
    code = 0
    for stage in stages:
        event = rollout.remove(stage)
        print(f"{stage.value}: {f'removed (was serving version {event.version})' if event else 'served nothing'}")
        if stray := rollout.target.stray(rollout.config(stage)):
            print(f"error: {stray}", file=sys.stderr)
            code = 1
    return code


def run_smoke_test(rollout: Rollout, stage: Stage, out: Path | None) -> int:
    config = rollout.config(stage)
    result = smoke_test(rollout.target, config, rollout.target.deployed_package(config) or "", rollout.samples_file)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(result.model_dump_json(indent=2))
    print(result.summary())
    return 0 if result.passed else 1


def render_configs(registry: ModelRegistry, group: str, settings: Settings, out: Path) -> int:
    from deepfake.deploy.aws_target import AwsProject, render_stage_configs

    for path in render_stage_configs(registry, group, AwsProject.from_settings(settings), out):
        print(f"wrote {path}")
    return 0


def _newest_version(registry: ModelRegistry, group: str) -> int:
    packages = registry.list(group)
    if not packages:
        raise RegistryError(f"no versions in model group '{group}': run the pipeline first (make pipeline-run)")
    return packages[0].version


def _registry(args: argparse.Namespace, settings: Settings) -> ModelRegistry:
    if args.target == "sagemaker":
        from deepfake.deploy.sagemaker_registry import SageMakerRegistry

        return SageMakerRegistry.from_settings(settings)
    return LocalRegistry(args.registry or settings.runs_dir / "registry")


def _target(args: argparse.Namespace, settings: Settings) -> StageTarget:
    if args.target == "sagemaker":
        from deepfake.deploy.aws_target import AwsProject, CloudFormationTarget

        return CloudFormationTarget(AwsProject.from_settings(settings))
    from deepfake.deploy.local_target import LocalTarget

    return LocalTarget(_deployments(args, settings))


def _deployments(args: argparse.Namespace, settings: Settings) -> Path:
    return settings.runs_dir / "deployments" / args.target
