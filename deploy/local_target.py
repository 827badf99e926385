"""A stage on one machine: the serving container's entry as a background process on 127.0.0.1.

Each stage has a pid file and a log in the deployments folder, so `make deploy-status` and a later `make promote`
find the endpoints started by an earlier command. Replacing a stage's model stops its process and starts another
(a few seconds of downtime: acceptable on one machine, unlike on AWS where the stack update is blue/green).
"""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from deepfake.deploy.stages import DeployError, InvocationResult, Stage, StageConfig
from deepfake.pipelines.registry import ModelPackage

START_TIMEOUT_S = 180
STOP_TIMEOUT_S = 30
MAX_RESPONSE_BYTES = 6 * 1024**2


class LocalDeployError(DeployError):
    """A stage process that did not come up (or go down); the message has the reason and the log's tail."""


class LocalTarget:
    def __init__(self, folder: Path, start_timeout_s: float = START_TIMEOUT_S) -> None:
        self.folder = folder
        self.start_timeout_s = start_timeout_s
        folder.mkdir(parents=True, exist_ok=True)

    def url(self, config: StageConfig) -> str:
        return f"http://127.0.0.1:{config.local_port}"

    def deploy(self, package: ModelPackage, config: StageConfig) -> str:
        self.stop(config.stage)
        if self._answers(config):
            raise LocalDeployError(
                f"port {config.local_port} of stage '{config.stage.value}' is taken by another process: stop it, or"
                f" set local_port in deploy/config/{config.stage.value}-config.json"
            )
        log = self.log_file(config.stage)
        command = [
            sys.executable,
            "-m",
            "deepfake.components.serve",
            "--model-dir",
            package.model_data,
            "--port",
            str(config.local_port),
            "--workers",
            "1",
            "--model-package",
            f"{package.group}/{package.version}",
        ]
        with log.open("w") as output:
            process = subprocess.Popen(
                command,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives the command that started it
                env={
                    **os.environ,
                    "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")])),
                },
            )
        self.pid_file(config.stage).write_text(str(process.pid))
        self.package_file(config.stage).write_text(f"{package.group}/{package.version}")
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.pid_file(config.stage).unlink(missing_ok=True)
                raise LocalDeployError(
                    f"stage '{config.stage.value}' exited with code {process.returncode} while starting:\n{_tail(log)}"
                )
            if self._answers(config):
                return self.url(config)
            time.sleep(0.25)
        self.stop(config.stage)
        raise LocalDeployError(
            f"stage '{config.stage.value}' did not answer /ping in {self.start_timeout_s:.0f} s:\n{_tail(log)}"
        )

    def invoke(self, config: StageConfig, body: bytes, content_type: str) -> InvocationResult:
        request = urllib.request.Request(
            f"{self.url(config)}/invocations", data=body, headers={"Content-Type": content_type}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return InvocationResult(status=response.status, body=response.read(MAX_RESPONSE_BYTES))
        except urllib.error.HTTPError as exc:
            return InvocationResult(status=exc.code, body=exc.read(MAX_RESPONSE_BYTES))
        except (urllib.error.URLError, OSError) as exc:
            return InvocationResult(status=503, body=f'{{"error": "endpoint unreachable: {exc}"}}'.encode())

    def restore(self, config: StageConfig, previous: ModelPackage | None) -> None:
        if previous is None:
            self.stop(config.stage)
        else:
            self.deploy(previous, config)

    def running(self, stage: Stage) -> int | None:
        """The stage's serving process id, when it is alive."""
        path = self.pid_file(stage)
        if not path.is_file():
            return None
        text = path.read_text(errors="replace").strip()
        if not text.isdigit():
            return None  # not a pid this target wrote: nothing of ours is running under it
        pid = int(text)
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return None
        return pid if b"deepfake.components.serve" in command else None

    def stop(self, stage: Stage) -> bool:
        pid = self.running(stage)
        self.pid_file(stage).unlink(missing_ok=True)
        self.package_file(stage).unlink(missing_ok=True)
        if pid is None:
            return False
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists() and not _zombie(pid):
            time.sleep(0.1)
        if Path(f"/proc/{pid}").exists() and not _zombie(pid):
            os.killpg(pid, signal.SIGKILL)
        return True

    def where(self, config: StageConfig) -> tuple[str, bool]:
        return self.url(config), self._answers(config)

    def deployed_package(self, config: StageConfig) -> str | None:
        path = self.package_file(config.stage)
        return path.read_text() if self.running(config.stage) and path.is_file() else None

    def stray(self, config: StageConfig) -> str | None:
        if self.running(config.stage) is not None or not self._answers(config):
            return None
        return (
            f"port {config.local_port} of stage '{config.stage.value}' answers, but not from a process started with"
            f" {self.folder.resolve()}: it was started with another runs folder; run the command there, or point"
            " DEEPFAKE_RUNS_DIR at that folder"
        )

    def pid_file(self, stage: Stage) -> Path:
        return self.folder / f"{stage.value}.pid"

    def package_file(self, stage: Stage) -> Path:
        return self.folder / f"{stage.value}.package"

    def log_file(self, stage: Stage) -> Path:
        return self.folder / f"{stage.value}.log"

    def _answers(self, config: StageConfig) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url(config)}/ping", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False


def _zombie(pid: int) -> bool:
    try:
        return " Z " in Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False


def _tail(log: Path, lines: int = 15) -> str:
    kept = [
        line for line in log.read_text(errors="replace").splitlines() if not line.startswith(("INFO: [", "WARNING: ["))
    ]
    return "\n".join(kept[-lines:])
