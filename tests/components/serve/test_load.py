"""A bounded load test: 4 concurrent clients x 50 requests against two workers; no 5xx, memory flat."""

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from tests.support.media import face_clip, face_frame
from tests.support.ports import free_port
from tests.support.server import Server, start_server

pytestmark = pytest.mark.slow  # serving processes under load

CLIENTS, REQUESTS, ROUNDS = 4, 50, 5


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and its descendants (the uvicorn supervisor and its workers)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        status = Path(f"/proc/{current}/status").read_text()
        total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) * 1024
        for task in Path(f"/proc/{current}/task").iterdir():
            pending.extend(int(child) for child in (task / "children").read_text().split())
    return total


def test_concurrent_clients_get_no_5xx_and_memory_stays_flat(trained_model: Path, tmp_path: Path) -> None:
    port = free_port()
    server: Server = start_server(
        ["--model-dir", str(trained_model), "--port", str(port), "--workers", "2"], {}, tmp_path / "log", port
    )
    buffer = io.BytesIO()
    Image.fromarray(face_frame(320, 240, 60, 30, 10)[..., ::-1].copy()).save(buffer, format="JPEG")
    bodies = [
        (face_clip(tmp_path / "clip.mp4", frames=16, width=192, height=144, face_height=50).read_bytes(), "video/mp4"),
        (buffer.getvalue(), "image/jpeg"),
        (b"\x00not a video", "video/mp4"),
    ]

    def client(number: int, count: int) -> list[int]:
        return [server.invoke(*bodies[(number + index) % len(bodies)])[0] for index in range(count)]

    statuses: list[int] = []
    memory = []
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            for _ in range(ROUNDS):
                for result in pool.map(client, range(CLIENTS), [REQUESTS // ROUNDS] * CLIENTS):
                    statuses.extend(result)
                memory.append(tree_rss_bytes(server.process.pid))
    finally:
        server.stop()

    assert len(statuses) == CLIENTS * REQUESTS
    assert not [status for status in statuses if status >= 500]
    assert set(statuses) == {200, 400}  # the garbage body is a 400 every time, the rest are verdicts
    growth = memory[-1] - memory[0]
    assert growth < 0.05 * memory[0] + 32 * 2**20, f"resident memory grew {growth / 2**20:.1f} MiB: {memory}"
    print(f"resident memory after each round (MiB): {[round(value / 2**20) for value in memory]}")
