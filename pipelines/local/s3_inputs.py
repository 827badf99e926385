"""s3:// inputs for the local runner: download a prefix to a local folder, as SageMaker's ProcessingInput does.

Components only ever read folders, so an S3 dataset works the same locally and on SageMaker. A staged prefix is
keyed by its listing (keys, ETags, sizes): an unchanged prefix is downloaded once and its fingerprint doubles as
the input's content hash for the step cache. `AWS_ENDPOINT_URL` is honoured (boto3 reads it), which is how the
tests point this at a moto server.
"""

import hashlib
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from deepfake.components.manifests import safe_relative_path

COMPLETE_MARKER = ".complete"


class S3InputError(ValueError):
    """The prefix cannot be staged; the message names the URI and what to do."""


def split_uri(uri: str) -> tuple[str, str]:
    """(bucket, folder prefix): `s3://b/data` means the folder `data/`, never `data-old/` beside it."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise S3InputError(f"{uri!r} is not an s3://bucket/prefix URI")
    prefix = parsed.path.strip("/")
    return parsed.netloc, f"{prefix}/" if prefix else ""


def stage_prefix(uri: str, cache_dir: Path, max_bytes: int) -> tuple[Path, str]:
    """Return (local folder, fingerprint); downloads only when this exact listing was not staged before."""
    bucket, prefix = split_uri(uri)
    client = boto3.client("s3")
    objects = _list(client, bucket, prefix, uri)
    total = sum(size for _, _, size in objects)
    if total > max_bytes:
        raise S3InputError(
            f"{uri}: {total} bytes is over the staging limit of {max_bytes} (DEEPFAKE_S3_STAGE_MAX_BYTES); "
            "raise it or run on SageMaker"
        )
    fingerprint = hashlib.sha256(
        "\n".join(f"{key}\0{etag}\0{size}" for key, etag, size in objects).encode()
    ).hexdigest()
    folder = cache_dir / fingerprint[:32]
    if (folder / COMPLETE_MARKER).is_file():
        return folder, fingerprint
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for key, _, _ in objects:
        relative = key[len(prefix) :]
        try:
            target = safe_relative_path(folder, relative)
        except ValueError as exc:
            raise S3InputError(f"{uri}: object key {key!r} would land outside the staging folder") from exc
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            client.download_file(bucket, key, str(target))
        except (BotoCoreError, ClientError) as exc:
            raise S3InputError(f"{uri}: cannot download {key}: {exc}") from exc
    (folder / COMPLETE_MARKER).touch()
    return folder, fingerprint


def _list(client: Any, bucket: str, prefix: str, uri: str) -> list[tuple[str, str, int]]:
    objects: list[tuple[str, str, int]] = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            objects.extend(
                (item["Key"], item["ETag"], item["Size"])
                for item in page.get("Contents", [])
                if not item["Key"].endswith("/")
            )
    except (BotoCoreError, ClientError) as exc:
        raise S3InputError(f"{uri}: cannot list the prefix: {exc}") from exc
    if not objects:
        raise S3InputError(f"{uri}: no objects under this prefix; check the bucket and prefix")
    return sorted(objects)
