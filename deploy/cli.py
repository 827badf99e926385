"""`python -m deploy`: the model registry from the command line (list, approve, reject)."""

import argparse
import sys
from pathlib import Path

from deploy.registry import ApprovalStatus, LocalRegistry, RegistryError
from pipelines.settings import Settings

DEFAULT_GROUP = "deepfake-detector"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    parser.add_argument("--registry", type=Path, help="local registry folder (default: <runs>/registry)")
    parser.add_argument("--group", default=DEFAULT_GROUP, help=f"model package group (default: {DEFAULT_GROUP})")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("models", help="list the group's versions, newest first")
    for name, verb in (("approve", "approve"), ("reject", "reject")):
        command = commands.add_parser(name, help=f"{verb} a registered version")
        command.add_argument("version", type=int)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    registry = LocalRegistry(args.registry or Settings().runs_dir / "registry")
    try:
        if args.command == "models":
            packages = registry.list(args.group)
            if not packages:
                print(f"no versions in model group '{args.group}': run the pipeline first (make pipeline-run)")
            for package in packages:
                auc = package.metrics.get("binary_classification_metrics", {}).get("auc", {}).get("value")
                shown = f"auc {auc:.4f}" if isinstance(auc, float) else ""
                print(f"{package.version:>4}  {package.status.value:<22} {package.created_at:%Y-%m-%d %H:%M}  {shown}")
            return 0
        status = ApprovalStatus.APPROVED if args.command == "approve" else ApprovalStatus.REJECTED
        package = registry.set_status(args.group, args.version, status)
        print(f"{package.group} version {package.version}: {package.status.value}")
        return 0
    except RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
