"""A serving process started as a real subprocess on 127.0.0.1, and a small client for it."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.support import REPO_ROOT


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]

    def request(
        self, path: str, body: bytes | None = None, content_type: str | None = None, headers: dict | None = None
    ) -> tuple[int, dict]:
        request = urllib.request.Request(f"{self.url}{path}", data=body, method="POST" if body is not None else "GET")
        if content_type:
            request.add_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def invoke(self, body: bytes, content_type: str, headers: dict | None = None) -> tuple[int, dict]:
        return self.request("/invocations", body, content_type, headers)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def start_server(args: list[str], env: dict[str, str], log: Path, port: int) -> Server:
    """A real `python -m deepfake.components.serve` process; returns once /ping answers 200 (or fails with its log)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "deepfake.components.serve", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = Server(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if server.request("/ping")[0] == 200:
                return server
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"the server did not answer /ping in time:\n{log.read_text()}")
