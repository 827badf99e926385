"""Serving overhead and throughput: HTTP latency of /invocations ÷ in-process Predictor latency for the same 10 s
clip, then videos/s with 1, 2 and 4 concurrent clients on a two-worker server.

    .venv/bin/python -m bench.serve [--requests 20] [--frames 16] [--throughput-requests 16]

Both sides score the same H.264 clip (10 s, 25 fps, 640x360, one face) with the same model (resnet18 at 64 px,
untrained weights: latency does not depend on them) and the same settings; the latency server runs one worker on
127.0.0.1; requests are sequential, alternating with in-process calls. Prints p50 and p95 of each and the p50
ratio (goal ≤ 1.05). Throughput: each client sends its share of `--throughput-requests` back to back; printed as
videos/s and as the speed-up over one client (two workers on two cores: at most 2).
"""

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from deepfake.components.classifier.model import ModelConfig, build_network, save_model
from deepfake.components.serve.predictor import Predictor
from deepfake.components.serve.settings import ServeSettings
from tests.support.media import face_clip
from tests.support.ports import free_port
from tests.support.server import start_server


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def send(request: urllib.request.Request, count: int) -> None:
    for _ in range(count):
        with urllib.request.urlopen(request, timeout=300) as response:
            response.read()


def videos_per_second(url: str, body: bytes, clients: int, requests: int) -> float:
    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": "video/mp4"}, method="POST"
    )
    with ThreadPoolExecutor(clients) as pool:
        for done in [pool.submit(send, request, 1) for _ in range(clients)]:  # warm: models loaded, one decode
            done.result()
        started = time.perf_counter()
        for done in [pool.submit(send, request, requests // clients) for _ in range(clients)]:
            done.result()
    return (requests // clients * clients) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument(
        "--frames", type=int, default=16, help="frames scored a video (DEEPFAKE_SERVE_FRAMES_PER_VIDEO)"
    )
    parser.add_argument("--throughput-requests", type=int, default=16, help="requests at each concurrency")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        save_model(
            folder / "model",
            build_network("resnet18"),
            ModelConfig(architecture="resnet18", image_size=64, version="bench"),
        )
        clip = face_clip(folder / "clip.mp4", frames=250, width=640, height=360, face_height=100)
        body = clip.read_bytes()
        print(f"clip: 10 s, 640x360, {len(body) / 1024:.0f} KiB; {args.frames} frames scored; {args.requests} requests")

        port = free_port()
        env = {"DEEPFAKE_SERVE_FRAMES_PER_VIDEO": str(args.frames)}
        server = start_server(
            ["--model-dir", str(folder / "model"), "--port", str(port), "--workers", "1"], env, folder / "log", port
        )
        predictor = Predictor(ServeSettings(model_dir=folder / "model", frames_per_video=args.frames))
        request = urllib.request.Request(
            f"{server.url}/invocations", data=body, headers={"Content-Type": "video/mp4"}, method="POST"
        )
        in_process, over_http = [], []
        try:
            # Alternate the two, so load from anything else on the machine falls on both alike.
            for index in range(args.requests + 2):
                started = time.perf_counter()
                predictor.predict_video(clip)
                middle = time.perf_counter()
                with urllib.request.urlopen(request, timeout=120) as response:
                    response.read()
                if index >= 2:
                    in_process.append(middle - started)
                    over_http.append(time.perf_counter() - middle)
        finally:
            predictor.close()
            server.stop()

        local_p50, local_p95 = percentiles(in_process)
        http_p50, http_p95 = percentiles(over_http)
        print(f"in-process predict: p50 {local_p50 * 1000:.1f} ms, p95 {local_p95 * 1000:.1f} ms")
        print(f"HTTP /invocations:  p50 {http_p50 * 1000:.1f} ms, p95 {http_p95 * 1000:.1f} ms")
        print(f"HTTP p50 ÷ in-process p50: {http_p50 / local_p50:.3f} (goal ≤ 1.05)")

        port = free_port()
        server = start_server(
            ["--model-dir", str(folder / "model"), "--port", str(port), "--workers", "2"], env, folder / "log2", port
        )
        try:
            rates = {
                clients: videos_per_second(server.url, body, clients, args.throughput_requests) for clients in (1, 2, 4)
            }
        finally:
            server.stop()
    for clients, rate in rates.items():
        print(f"two workers, {clients} concurrent client(s): {rate:.2f} videos/s ({rate / rates[1]:.2f}x one client)")


if __name__ == "__main__":
    sys.exit(main())
