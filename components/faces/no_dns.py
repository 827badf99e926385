"""No DNS query from a process that runs MediaPipe: its usage logging cannot be switched off, so it cannot resolve.

MediaPipe's native code (libcurl inside libmediapipe.so, in mediapipe >= 0.10.30) resolves play.googleapis.com to
upload usage logs as soon as a detector exists, and no option or variable turns that off. With
`RES_OPTIONS=attempts:0` glibc's resolver sends no query at all, while names in /etc/hosts and numeric addresses
still resolve; with no name resolved, nothing is connected to. extract-faces and the serving entry call `forbid_dns`
before any detector exists; their worker processes inherit it. The endpoint's S3 fetches, the one thing there that
needs a name, run in a child process given the resolver back (`dns_environment`).
"""

import os

RES_OPTIONS = "RES_OPTIONS"
NO_QUERIES = "attempts:0"


def forbid_dns() -> None:
    os.environ[RES_OPTIONS] = NO_QUERIES


def dns_environment() -> dict[str, str]:
    """This process's environment with the resolver's queries allowed again, for a child that must reach S3."""
    return {name: value for name, value in os.environ.items() if (name, value) != (RES_OPTIONS, NO_QUERIES)}
