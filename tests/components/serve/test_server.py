"""The serving container's HTTP contract, against a real server process and a model trained in the tests."""

import io
import json
import signal
import socket
import struct
import zlib
from pathlib import Path

import boto3
import numpy as np
import pytest
from PIL import Image

from deepfake.components.classifier.model import load_model
from tests.support.media import blank_clip, face_clip, face_frame, oversized_text_png
from tests.support.ports import free_port
from tests.support.server import Server, start_server

pytestmark = pytest.mark.slow  # a serving process on a trained model


def encode(rgb: np.ndarray, format: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format=format)
    return buffer.getvalue()


def read_response(client: socket.socket) -> tuple[bytes, bytes]:
    """The status line and the body of one HTTP/1.1 response read from a raw socket."""
    response = client.makefile("rb")
    head = response.readline()
    headers = dict(line.decode().strip().lower().split(": ", 1) for line in iter(response.readline, b"\r\n"))
    return head, response.read(int(headers["content-length"]))


def test_ping_answers_once_the_model_is_loaded(server: Server, trained_model: Path) -> None:
    _, config = load_model(trained_model)
    assert server.request("/ping") == (200, {"status": "ready", "model_version": config.version})


@pytest.mark.parametrize(("clip", "label"), [("real", "REAL"), ("fake", "FAKE")])
def test_a_video_gets_the_verdict_of_its_faces(
    server: Server, clips: dict[str, Path], trained_model: Path, clip: str, label: str
) -> None:
    status, verdict = server.invoke(clips[clip].read_bytes(), "video/mp4")
    assert status == 200, verdict
    _, config = load_model(trained_model)
    assert verdict["label"] == label
    assert (verdict["probability_fake"] >= config.threshold) == (label == "FAKE")
    assert verdict["aggregation"] == config.aggregation
    assert verdict["input"] == "video"
    assert verdict["frames_sampled"] == 16
    assert verdict["faces_found"] == len(verdict["frame_scores"]) == 16
    indices = [frame["frame_index"] for frame in verdict["frame_scores"]]
    assert indices == sorted(indices) and indices[-1] < 40
    assert np.mean([frame["probability_fake"] for frame in verdict["frame_scores"]]) == pytest.approx(
        verdict["probability_fake"], abs=1e-6
    )
    assert verdict["model_version"] == config.version
    assert verdict["model_package"] == "deepfake-detector/7"


def test_a_frame_is_cropped_to_its_face_and_a_face_crop_is_scored_as_sent(server: Server) -> None:
    frame = face_frame(320, 240, 60, 40, 20)
    status, verdict = server.invoke(encode(frame, "JPEG"), "image/jpeg")
    assert status == 200, verdict
    assert (verdict["input"], verdict["label"], verdict["faces_found"]) == ("image", "REAL", 1)
    assert verdict["frame_scores"][0]["box"] is not None
    x, y, width, height = verdict["frame_scores"][0]["box"]
    face = np.ascontiguousarray(
        frame[y - height // 3 : y + height + height // 3, x - width // 3 : x + width + width // 3]
    )
    swapped = np.ascontiguousarray(face[..., ::-1])
    for crop, label in ((face, "REAL"), (swapped, "FAKE")):
        status, verdict = server.invoke(
            encode(crop, "PNG"), "image/png", {"X-Amzn-SageMaker-Custom-Attributes": "input=face"}
        )
        assert status == 200, verdict
        assert (verdict["input"], verdict["label"], verdict["frame_scores"][0]["box"]) == ("face", label, None)


def test_a_video_or_frame_without_a_face_is_422_not_a_guess(server: Server, tmp_path: Path) -> None:
    status, error = server.invoke(blank_clip(tmp_path / "blank.mp4").read_bytes(), "video/mp4")
    assert status == 422
    assert "no face found in any of the 16 sampled frames" in error["error"]
    status, error = server.invoke(encode(np.full((240, 320, 3), 90, np.uint8), "PNG"), "image/png")
    assert status == 422 and "no face found in the image" in error["error"]


def _bomb() -> bytes:
    """A 9000 x 9000 PNG: 81 megapixels that compress to ~80 KB."""
    return encode(np.zeros((9000, 9000), np.uint8), "PNG")


def _huge_png_header() -> bytes:
    """A PNG whose header declares 20000 x 20000 pixels, past the size Pillow refuses to even open."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("body", "content_type", "status", "problem"),
    [
        (b"", "video/mp4", 400, "empty body"),
        (b"\x00garbage" * 100, "video/mp4", 400, "not a readable video"),
        (b"\x00garbage" * 100, "image/jpeg", 400, "not a readable JPEG or PNG"),
        (b"hello", "text/plain", 415, "Content-Type 'text/plain' is not supported"),
        (b"hello", "application/octet-stream", 415, "send one of: video/mp4"),
        (b"x" * (6 * 1024 * 1024 + 1), "video/mp4", 413, "over the limit of 6291456"),
        (b"{not json", "application/json", 400, "JSON body must be"),
        (b'{"s3_uri": "http://x/y.mp4"}', "application/json", 400, "s3_uri"),
        (b'{"s3_uri": "s3://b/k", "extra": 1}', "application/json", 400, "extra"),
        (_bomb(), "image/png", 413, "over the limit of 40000000 pixels"),
        (_huge_png_header(), "image/png", 413, "over the limit of 40000000 pixels"),
        (oversized_text_png(), "image/png", 400, "Decompressed data too large"),
        (b"\x00garbage" * 100, "image/png", 400, "no JPEG or PNG header"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_problem_and_the_worker_stays_up(
    server: Server, clips: dict[str, Path], body: bytes, content_type: str, status: int, problem: str
) -> None:
    answer = server.invoke(body, content_type)
    assert answer[0] == status, answer
    assert problem in answer[1]["error"] and answer[1]["status"] == status
    assert server.invoke(clips["real"].read_bytes(), "video/mp4")[0] == 200


def test_videos_over_the_resolution_or_length_limit_are_refused(server: Server, tmp_path: Path) -> None:
    """The server under test allows 100 000-pixel frames and 60 frames."""
    status, error = server.invoke(
        face_clip(tmp_path / "big.mp4", frames=5, width=480, height=360).read_bytes(), "video/mp4"
    )
    assert status == 422 and "480x360, over the limit of 100000 pixels" in error["error"]
    status, error = server.invoke(face_clip(tmp_path / "long.mp4", frames=61).read_bytes(), "video/mp4")
    assert status == 422 and "61 frames, over the limit of 60" in error["error"]


def test_unknown_paths_and_methods_answer_in_the_json_error_shape(server: Server) -> None:
    assert server.request("/nope") == (
        404,
        {"error": "no such path: use GET /ping or POST /invocations", "status": 404},
    )
    status, error = server.request("/invocations")  # a GET
    assert (status, error) == (405, {"error": "method not allowed on this path", "status": 405})


def test_an_accept_header_other_than_json_is_406(server: Server, clips: dict[str, Path]) -> None:
    status, error = server.invoke(clips["real"].read_bytes(), "video/mp4", {"Accept": "text/csv"})
    assert status == 406 and "application/json" in error["error"]


def test_a_video_in_s3_is_fetched_and_scored(server: Server, clips: dict[str, Path], aws: str) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="videos")
    s3.upload_file(str(clips["fake"]), "videos", "in/fake.mp4")
    status, verdict = server.invoke(json.dumps({"s3_uri": "s3://videos/in/fake.mp4"}).encode(), "application/json")
    assert status == 200, verdict
    assert verdict["label"] == "FAKE"
    status, error = server.invoke(json.dumps({"s3_uri": "s3://videos/missing.mp4"}).encode(), "application/json")
    assert status == 422 and "cannot read s3://videos/missing.mp4" in error["error"]
    s3.put_object(Bucket="videos", Key="in/long.mp4", Body=b"\0" * (1024 * 1024 + 1))  # the server allows 1 MiB
    status, error = server.invoke(json.dumps({"s3_uri": "s3://videos/in/long.mp4"}).encode(), "application/json")
    assert status == 413 and "is 1048577 bytes, over the limit of 1048576" in error["error"]


@pytest.mark.parametrize(("name", "content_type"), [("clip.mkv", "video/x-matroska"), ("clip.mov", "video/quicktime")])
def test_other_containers_are_scored_like_mp4(server: Server, tmp_path: Path, name: str, content_type: str) -> None:
    status, verdict = server.invoke(face_clip(tmp_path / name, frames=40).read_bytes(), content_type)
    assert status == 200, verdict
    assert verdict["label"] == "REAL" and verdict["faces_found"] == 16


def test_a_declared_body_far_over_the_limit_is_refused_before_it_is_sent(server: Server) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as client:
        client.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: video/mp4\r\n"
            b"Content-Length: 1000000000\r\n\r\n"
        )
        head, payload = read_response(client)
    assert head.startswith(b"HTTP/1.1 413"), head
    assert "body of 1000000000 bytes is over the limit of 6291456 bytes" in json.loads(payload)["error"]


def test_a_bad_model_folder_stops_the_server_before_it_starts(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text("{}")
    with pytest.raises(AssertionError, match=r"exited with 2:[\s\S]*has no model.pt"):
        start_server(["--model-dir", str(tmp_path), "--port", str(free_port())], {}, tmp_path / "log", 1)


def test_sigterm_lets_the_request_in_flight_finish(trained_model: Path, clips: dict[str, Path], tmp_path: Path) -> None:
    """Run from the model archive (as the local registry stores it) with two workers."""
    from deepfake.components.artifacts import pack_archive

    pack_archive(trained_model, tmp_path / "model.tar.gz")
    port = free_port()
    log = tmp_path / "server.log"
    server = start_server(
        ["--model-dir", str(tmp_path / "model.tar.gz"), "--port", str(port), "--workers", "2"], {}, log, port
    )
    body = clips["fake"].read_bytes()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as client:
        # `Expect: 100-continue` makes the request observable in flight: the server says 100 once the app reads it.
        client.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: video/mp4\r\n"
            + f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode()
        )
        assert client.recv(1024).startswith(b"HTTP/1.1 100 Continue")
        server.process.send_signal(signal.SIGTERM)
        client.sendall(body)
        head, payload = read_response(client)
    assert head.startswith(b"HTTP/1.1 200"), head
    assert json.loads(payload)["label"] == "FAKE"
    code = server.process.wait(timeout=60)
    assert code in (0, -15)  # uvicorn re-raises the signal it handled, after a clean shutdown
    assert "Finished server process" in log.read_text()
