"""Probing untrusted videos where a native crash cannot take the caller down: in a child process with limits.

FFmpeg's demuxers and decoders are C, and a malformed file can make C code abort or run out of memory. So every video
from outside is first probed (opened with PyAV, the decoder the stages use, and its first frame decoded for the frame
size) by a child process that runs under an address-space limit. A crash, the limit or a hang there is a rejection
with its reason here; the caller opens the video itself only after the probe passed and its frame size is checked,
so it never pays for a frame it would refuse. One child serves many probes (Python and PyAV start once) and is
restarted after a crash.
"""

import json
import os
import resource
import select
import signal
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from deepfake.components.faces.sampling import VideoProbe, VideoReadError, probe


class ProbeLimits(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEEPFAKE_PROBE_", extra="ignore")

    memory_bytes: int = Field(
        3 * 1024**3, ge=512 * 1024**2, description="Address space of the probing process (PyAV, one frame)."
    )
    timeout_s: float = Field(60, gt=0, description="Longest one probe may take before the video is refused.")


class Prober:
    """Thread-safe (one probe at a time a prober; give each worker thread its own for parallel probes)."""

    def __init__(self, limits: ProbeLimits | None = None) -> None:
        self.limits = limits or ProbeLimits()
        self._child: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def probe(self, path: Path) -> VideoProbe:
        with self._lock:
            child = self._start()
            assert child.stdin is not None and child.stdout is not None
            try:
                child.stdin.write(json.dumps({"path": str(path)}) + "\n")
                child.stdin.flush()
            except BrokenPipeError:
                raise self._lost(child, path) from None
            ready, _, _ = select.select([child.stdout], [], [], self.limits.timeout_s)
            line = child.stdout.readline() if ready else ""
            if not line:
                raise self._lost(child, path, timed_out=not ready)
            reply = json.loads(line)
            if "error" in reply:
                raise VideoReadError(reply["error"])
            return VideoProbe(**reply)

    def close(self) -> None:
        with self._lock:
            if self._child is not None:
                self._child.kill()
                self._child.wait()
                self._child = None

    def __enter__(self) -> "Prober":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> subprocess.Popen[str]:
        if self._child is None or self._child.poll() is not None:
            self._child = subprocess.Popen(
                [sys.executable, "-m", __name__, str(self.limits.memory_bytes)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            )
        return self._child

    def _lost(self, child: subprocess.Popen[str], path: Path, timed_out: bool = False) -> VideoReadError:
        """The child died on this video (or hung on it): the video is refused and the next probe starts afresh."""
        if timed_out:
            child.kill()
        code = child.wait()
        self._child = None
        if timed_out:
            return VideoReadError(f"probing took longer than {self.limits.timeout_s:g} s; refused as unsafe to decode")
        cause = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
        return VideoReadError(
            f"the video decoder crashed on this file ({cause}, within {self.limits.memory_bytes} bytes of memory);"
            " refused as unsafe to decode"
        )


def _serve(memory_bytes: int) -> None:
    """The child: one JSON request a line on stdin, one JSON answer a line on stdout."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    for line in sys.stdin:
        path = Path(json.loads(line)["path"])
        try:
            answer: dict[str, object] = asdict(probe(path))
        except VideoReadError as exc:
            answer = {"error": str(exc)}
        except MemoryError:
            answer = {"error": f"decoding the first frame needs more than {memory_bytes} bytes; refused"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
