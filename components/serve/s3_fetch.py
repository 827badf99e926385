"""Fetch one video from S3 for the endpoint, in a child process: the serving worker itself resolves no names.

    python -m deepfake.components.serve.s3_fetch s3://bucket/key <folder> <max bytes>

prints one JSON line: {"path": ...} or {"status": <HTTP status>, "error": ...}.
"""

import json
import sys
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError


def fetch(uri: str, folder: Path, limit: int) -> dict[str, object]:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    s3 = boto3.client("s3")
    try:
        size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
        if size > limit:
            return {
                "status": 413,
                "error": f"{uri} is {size} bytes, over the limit of {limit} (DEEPFAKE_SERVE_MAX_S3_BYTES)",
            }
        target = folder / (Path(key).name or "video")
        s3.download_file(bucket, key, str(target))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        return {
            "status": 422,
            "error": f"cannot read {uri}: {code}; check the URI and the endpoint role's s3:GetObject",
        }
    except BotoCoreError as exc:
        return {"status": 422, "error": f"cannot read {uri}: {exc}"}
    return {"path": str(target)}


if __name__ == "__main__":
    print(json.dumps(fetch(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))))
