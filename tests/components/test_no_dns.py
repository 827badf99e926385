"""Nothing the detector, one extraction or the endpoint does looks a name up (MediaPipe's usage logging included),
checked in a network namespace whose only name server is a stub that logs every query."""

import io
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.dns_stub import in_namespace

pytestmark = pytest.mark.slow  # a detector left running for seconds, an extraction, a serving process

SETTLE_S = 6  # MediaPipe resolves its log host a second or two after a detector is created


def scenario(kind: str, scratch: str) -> None:
    """Run inside the namespace by tests.support.dns_stub."""
    from deepfake.components.faces.no_dns import dns_environment

    folder = Path(scratch)
    if kind == "bare-detector":
        from deepfake.components.faces.detection import FaceDetector

        detector = FaceDetector()
        time.sleep(SETTLE_S)
        detector.close()
        return
    from deepfake.components.classifier.model import ModelConfig, save_model
    from deepfake.components.extract_faces.component import COMPONENT
    from deepfake.components.manifests import VideoRecord, write_jsonl
    from deepfake.components.runtime import main
    from tests.support.media import face_clip
    from tests.support.models import brightness_network
    from tests.support.ports import free_port

    clip = face_clip(folder / "videos" / "a.mp4", frames=8, face_height=60)
    base = folder / "extract"
    (base / "processing/input/manifest").mkdir(parents=True)
    (base / "processing/input/videos").symlink_to(folder / "videos", target_is_directory=True)
    record = VideoRecord(
        id="a", path="a.mp4", label=0, group="a", dataset="csv", frames=8, fps=25, width=320, height=240, duration_s=0.3
    )
    write_jsonl(base / "processing/input/manifest/videos.jsonl", [record])
    write_jsonl(base / "processing/input/manifest/rejected.jsonl", [])
    os.environ["SAGEMAKER_BASE_DIR"] = str(base)
    assert main(COMPONENT, ["--frames-per-video", "4", "--face-size", "64", "--workers", "1"]) == 0
    time.sleep(SETTLE_S)

    save_model(folder / "model", brightness_network(), ModelConfig(architecture="resnet18", image_size=64, version="t"))
    port = free_port()
    environment = {**dns_environment(), "PYTHONPATH": os.getcwd()}  # the entry itself must turn the queries off
    environment.pop("SAGEMAKER_BASE_DIR")
    server = subprocess.Popen(
        [sys.executable, "-m", "deepfake.components.serve", "--model-dir", str(folder / "model"), "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2).close()
                break
            except OSError:
                time.sleep(0.2)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", data=clip.read_bytes(), headers={"Content-Type": "video/mp4"}
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            assert json.load(io.TextIOWrapper(response))["input"] == "video"
        time.sleep(SETTLE_S)
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_a_bare_detector_does_query_which_is_what_the_others_are_checked_against(tmp_path: Path) -> None:
    assert "play.googleapis.com" in in_namespace(__name__, "bare-detector", str(tmp_path))


def test_an_extraction_and_the_endpoint_query_no_name(tmp_path: Path) -> None:
    assert in_namespace(__name__, "entries", str(tmp_path)) == []
