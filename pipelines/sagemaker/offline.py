"""Running SageMaker SDK code with no way to reach AWS: placeholder credentials, quiet logging, no side effects.

The SDK builds sessions and clients as a side effect (a default session on import, a client in every Estimator),
and botocore resolves credentials for each: through the instance metadata service (seconds of timeouts off EC2)
or an STS call for a role profile. Compiling must be offline and deterministic, so every SDK call runs in here.
"""

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import boto3

OFFLINE_CREDENTIALS = {"aws_access_key_id": "offline-compile", "aws_secret_access_key": "offline-compile"}
CREDENTIAL_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


@cache
def offline_session(region: str | None) -> boto3.Session:
    """One session a region (loading a client's service model costs ~0.1 s), holding placeholder keys."""
    return boto3.Session(region_name=region, **OFFLINE_CREDENTIALS)


@contextmanager
def offline() -> Iterator[None]:
    """Run SDK code with placeholder credentials, so that nothing it does can reach AWS.

    The SDK builds sessions and clients as a side effect (a default session on import, a client in every Estimator),
    and botocore resolves credentials for each: through the instance metadata service (seconds of timeouts off EC2)
    or an STS call for a role profile. Static placeholder keys in the environment and in boto3's default session
    stop that; the caller's environment and default session are restored afterwards.
    """
    saved_env = {name: os.environ.pop(name) for name in CREDENTIAL_ENV if name in os.environ}
    saved_session = boto3.DEFAULT_SESSION
    os.environ.update({name.upper(): value for name, value in OFFLINE_CREDENTIALS.items()})
    boto3.DEFAULT_SESSION = offline_session(None)
    try:
        with quiet_sdk():
            yield
    finally:
        for name in CREDENTIAL_ENV:
            os.environ.pop(name, None)
        os.environ.update(saved_env)
        boto3.DEFAULT_SESSION = saved_session


@contextmanager
def quiet_sdk() -> Iterator[None]:
    """Building steps logs what the SDK drops from job requests and warns that a PipelineSession starts no jobs."""
    sdk_logger = logging.getLogger("sagemaker")
    saved_level = sdk_logger.level
    sdk_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        sdk_logger.setLevel(saved_level)


@contextmanager
def root_logging_kept() -> Iterator[None]:
    """The SDK calls `logging.basicConfig(level=INFO)` when imported (sagemaker/experiments/_metrics.py); undo it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in [handler for handler in root.handlers if handler not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)
