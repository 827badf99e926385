"""The HTTP app: SageMaker's hosting routes on Starlette, served by uvicorn worker processes.

Every request body is read against a size limit before it is parsed, and every input error is a 4xx JSON
`{"error": ..., "status": ...}` naming what was wrong; scoring runs in a worker thread so /ping always answers.
"""

import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from deepfake.components.faces.no_dns import dns_environment
from deepfake.components.serve.predictor import InputError, Predictor
from deepfake.components.serve.schema import CONTENT_TYPES, IMAGE_TYPES, JSON_TYPE, VIDEO_TYPES, Verdict
from deepfake.components.serve.settings import ServeSettings

log = logging.getLogger("deepfake.components.serve")

CUSTOM_ATTRIBUTES = "x-amzn-sagemaker-custom-attributes"
DRAIN_FACTOR = 4
S3_FETCH_TIMEOUT_S = 600


class S3VideoRequest(BaseModel):
    """A video too large for an invocation body (6 MiB), fetched from S3 by the endpoint."""

    model_config = ConfigDict(extra="forbid")

    s3_uri: str = Field(pattern=r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/.+", description="s3://bucket/key")


def create_app(settings: ServeSettings | None = None) -> Starlette:
    """The ASGI app; uvicorn calls this in each worker process (settings come from the environment)."""
    settings = settings or ServeSettings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // settings.workers))
        app.state.predictor = await run_in_threadpool(Predictor, settings)
        log.info("model %s loaded from %s", app.state.predictor.config.version, settings.model_dir)
        yield
        app.state.predictor.close()

    async def ping(request: Request) -> JSONResponse:
        """Reachable only after lifespan startup, i.e. once this worker's model is loaded."""
        return JSONResponse({"status": "ready", "model_version": request.app.state.predictor.config.version})

    async def invocations(request: Request) -> JSONResponse:
        try:
            verdict = await _invoke(request, request.app.state.predictor, settings)
        except InputError as exc:
            return JSONResponse({"error": str(exc), "status": exc.status}, status_code=exc.status)
        except Exception:
            log.exception("invocation failed")
            return JSONResponse({"error": "internal error while scoring; see the endpoint logs", "status": 500}, 500)
        return JSONResponse(verdict.model_dump(mode="json"))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        """Unknown paths and methods answer in the same JSON shape as every other error."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = {404: "no such path: use GET /ping or POST /invocations", 405: "method not allowed on this path"}
        error = message.get(status, exc.detail if isinstance(exc, HTTPException) else "error")
        return JSONResponse({"error": error, "status": status}, status_code=status)

    routes = [Route("/ping", ping, methods=["GET"]), Route("/invocations", invocations, methods=["POST"])]
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error})


async def _invoke(request: Request, predictor: Predictor, settings: ServeSettings) -> Verdict:
    accept = request.headers.get("accept", "*/*")
    if not any(kind in accept for kind in (JSON_TYPE, "*/*", "application/*")):
        raise InputError(406, f"Accept '{accept}' cannot be met: verdicts are {JSON_TYPE}")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in CONTENT_TYPES:
        accepted = ", ".join(CONTENT_TYPES)
        raise InputError(415, f"Content-Type '{content_type or '(none)'}' is not supported; send one of: {accepted}")
    body = await _read_body(request, settings.max_body_bytes)
    if content_type in IMAGE_TYPES:
        return await run_in_threadpool(predictor.predict_image, body, _image_kind(request))
    with tempfile.TemporaryDirectory(prefix="invocation-") as scratch:
        if content_type == JSON_TYPE:
            video = await run_in_threadpool(_fetch_s3_video, body, Path(scratch), settings.max_s3_bytes)
        else:
            video = Path(scratch) / f"video{VIDEO_TYPES[content_type]}"
            video.write_bytes(body)
        return await run_in_threadpool(predictor.predict_video, video)


async def _read_body(request: Request, limit: int) -> bytes:
    """A body over the limit is drained (up to DRAIN_FACTOR times the limit) before the 413, so the client reads
    the error instead of a connection reset; a larger declared body is refused at once."""
    declared = request.headers.get("content-length", "")
    too_large = f'over the limit of {limit} bytes: send a larger video in S3 as JSON {{"s3_uri": ...}}'
    if declared.isdigit() and int(declared) > DRAIN_FACTOR * limit:
        raise InputError(413, f"body of {declared} bytes is {too_large}")
    body = bytearray()
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > DRAIN_FACTOR * limit:
            break
        if received <= limit:
            body += chunk
    if received > limit:
        raise InputError(413, f"body is {too_large}")
    if not body:
        raise InputError(400, 'empty body: send a video, an image, or JSON {"s3_uri": ...}')
    return bytes(body)


def _image_kind(request: Request) -> Literal["image", "face"]:
    """`X-Amzn-SageMaker-Custom-Attributes: input=face` marks an image that is already a face crop."""
    attributes = request.headers.get(CUSTOM_ATTRIBUTES, "")
    pairs = dict(item.strip().partition("=")[::2] for item in attributes.split(",") if item.strip())
    return "face" if pairs.get("input") == "face" else "image"


def _fetch_s3_video(body: bytes, folder: Path, limit: int) -> Path:
    try:
        uri = S3VideoRequest.model_validate_json(body).s3_uri
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise InputError(400, f'JSON body must be {{"s3_uri": "s3://bucket/key"}} ({reasons})') from exc
    completed = subprocess.run(
        [sys.executable, "-m", "deepfake.components.serve.s3_fetch", uri, str(folder), str(limit)],
        env=dns_environment(),
        capture_output=True,
        text=True,
        timeout=S3_FETCH_TIMEOUT_S,
        check=False,
    )
    try:
        answer = json.loads(completed.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        log.error("the S3 fetch of %s failed (exit %d): %s", uri, completed.returncode, completed.stderr[-2000:])
        raise InputError(502, f"cannot read {uri}: the fetch failed; see the endpoint logs") from None
    if "error" in answer:
        raise InputError(int(answer["status"]), str(answer["error"]))
    return Path(answer["path"])
