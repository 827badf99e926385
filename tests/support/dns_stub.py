"""Run a scenario in its own network namespace whose only name server is a stub on 127.0.0.1 that logs every query.

    python -m tests.support.dns_stub <scenario module> <arguments...>

runs `<module>.scenario(*arguments)` and prints the names queried while it ran (one JSON list). `in_namespace`
starts that under `unshare` (a user, network and mount namespace: no root needed where user namespaces are
allowed): only the loopback interface is up, and /etc/resolv.conf names the stub.
"""

import importlib
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from deepfake.components.faces.no_dns import dns_environment
from tests.support import REPO_ROOT


def in_namespace(module: str, *arguments: str, timeout: float = 300) -> list[str]:
    with tempfile.TemporaryDirectory() as scratch:
        resolv = Path(scratch) / "resolv.conf"
        resolv.write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        command = " ".join(
            [
                f"mount --bind {resolv} /etc/resolv.conf && ip link set lo up && exec",
                sys.executable,
                "-m",
                __name__,
                module,
                *arguments,
            ]
        )
        completed = subprocess.run(
            ["unshare", "--user", "--map-root-user", "--net", "--mount", "sh", "-c", command],
            cwd=REPO_ROOT,
            env=dns_environment(),  # the scenario starts with the resolver on, whatever ran before in this process
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if completed.returncode != 0:
        raise AssertionError(f"the scenario failed ({completed.returncode}):\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _stub(queries: list[str]) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 53))
    while True:
        packet, _ = server.recvfrom(4096)
        labels, position = [], 12
        while position < len(packet) and packet[position]:
            length = packet[position]
            labels.append(packet[position + 1 : position + 1 + length].decode(errors="replace"))
            position += 1 + length
        queries.append(".".join(labels))


if __name__ == "__main__":
    queries: list[str] = []
    threading.Thread(target=_stub, args=(queries,), daemon=True).start()
    time.sleep(0.2)
    importlib.import_module(sys.argv[1]).scenario(*sys.argv[2:])
    print(json.dumps(sorted(set(queries))), flush=True)
