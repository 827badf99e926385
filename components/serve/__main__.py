"""The serving entry: `<image> serve` on SageMaker; `python -m deepfake.components.serve --model-dir D` locally.

`serve` is SageMaker's hosting contract: bind 0.0.0.0 on SAGEMAKER_BIND_TO_PORT (8080), model at /opt/ml/model.
Without it the server binds 127.0.0.1. The model is loaded once here first, so a bad model folder is one clear
error and exit code 2 rather than a crash loop of workers.
"""

import argparse
import logging
import os
import sys
from pathlib import Path

import uvicorn

from deepfake.components.faces.no_dns import forbid_dns
from deepfake.components.serve.predictor import ModelDirError, Predictor
from deepfake.components.serve.settings import ServeSettings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deepfake.components.serve", description=__doc__.split("\n")[0])
    parser.add_argument("command", nargs="?", choices=["serve"], help="SageMaker's start command: bind 0.0.0.0")
    parser.add_argument("--model-dir", type=Path, help="model folder or model.tar.gz (default: /opt/ml/model)")
    parser.add_argument("--host", help="address to bind (default: 127.0.0.1; 0.0.0.0 with `serve`)")
    parser.add_argument("--port", type=int, help="port (default: SAGEMAKER_BIND_TO_PORT or 8080)")
    parser.add_argument(
        "--workers", type=int, help="worker processes (default: SAGEMAKER_MODEL_SERVER_WORKERS or cores)"
    )
    parser.add_argument("--model-package", help="registry package served (group/version), echoed in verdicts")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    forbid_dns()  # before any detector exists; the uvicorn workers inherit it
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Workers are separate processes that build their settings from the environment: pass the flags on that way.
    for name in ("model_dir", "workers", "model_package"):
        if getattr(args, name) is not None:
            os.environ[f"DEEPFAKE_SERVE_{name.upper()}"] = str(getattr(args, name))
    overrides = {
        "host": args.host or ("0.0.0.0" if args.command == "serve" else None),
        "port": args.port,
        "workers": args.workers,
    }
    settings = ServeSettings(**{key: value for key, value in overrides.items() if value is not None})
    try:
        Predictor(settings).close()
    except ModelDirError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        "deepfake.components.serve.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        timeout_graceful_shutdown=settings.graceful_timeout_s,
        log_level="info",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
