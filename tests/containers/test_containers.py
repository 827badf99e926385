"""The built images for real: in the registry, pulled back, a step in its container, the serving container."""

import io
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from deepfake.components.classifier.model import ModelConfig, build_network, save_model
from deepfake.components.manifests import FaceRecord, write_jsonl
from deepfake.components.serve.predictor import Predictor
from deepfake.components.serve.settings import ServeSettings
from deepfake.components.split_dataset.component import COMPONENT as SPLIT_DATASET
from deepfake.pipelines import Pipeline
from deepfake.pipelines.images.docker_cli import DockerCli
from deepfake.pipelines.images.manifest import ImagesManifest
from deepfake.pipelines.images.resolver import ImageResolver
from deepfake.pipelines.local.docker import DockerLauncher
from deepfake.pipelines.local.launch import SubprocessLauncher
from deepfake.pipelines.local.records import StepState
from deepfake.pipelines.local.runner import LocalRunner
from tests.support.media import face_clip
from tests.support.ports import free_port

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


def registry_digest(registry: str, repository: str, reference: str) -> str:
    """The digest the registry itself serves for `repository:reference` (Docker-Content-Digest)."""
    name = repository.removeprefix(f"{registry}/")
    request = urllib.request.Request(f"http://{registry}/v2/{name}/manifests/{reference}", method="HEAD")
    request.add_header("Accept", MANIFEST_TYPES)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers["Docker-Content-Digest"]


def test_each_pushed_image_is_in_the_registry_under_both_tags_with_the_recorded_digest(
    manifest: ImagesManifest,
) -> None:
    assert {"split-dataset", "serve"} <= set(manifest.images)
    for image in manifest.images.values():
        assert image.digest is not None
        assert registry_digest(manifest.registry, image.repository, image.tag) == image.digest
        assert registry_digest(manifest.registry, image.repository, image.version) == image.digest


def face_dataset(folder: Path) -> Path:
    """Twelve groups of one real and one fake video, three faces each: enough for three non-empty splits."""
    rows = [
        FaceRecord(
            video_id=f"g{group:02d}-{kind}",
            frame_index=frame,
            image=f"faces/g{group:02d}-{kind}/{frame:05d}.jpg",
            box=(4, 4, 32, 32),
            score=0.9,
            label=int(kind == "fake"),
            group=f"g{group:02d}",
        )
        for group in range(12)
        for kind in ("real", "fake")
        for frame in range(3)
    ]
    folder.mkdir(parents=True)
    write_jsonl(folder / "faces.jsonl", rows)
    (folder / "rejected.jsonl").write_text("")
    return folder


def tree(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()
    }


def test_a_step_in_its_pulled_image_writes_exactly_what_the_subprocess_runner_writes(
    manifest: ImagesManifest, docker: DockerCli, tmp_path: Path
) -> None:
    pushed = manifest.images["split-dataset"]
    for reference in (f"{pushed.repository}:{pushed.version}", f"{pushed.repository}:{pushed.tag}", pushed.uri):
        if docker.image_exists(reference):
            docker.remove_image(reference)
    assert not docker.image_exists(pushed.uri)
    docker.pull(pushed.uri)
    assert docker.image_exists(pushed.uri)

    pipeline = Pipeline("split-in-docker")
    faces = pipeline.parameter("Faces", str, "")
    pipeline.step("split", SPLIT_DATASET, params={"seed": 11}, inputs={"faces": faces})
    arguments = {"Faces": str(face_dataset(tmp_path / "faces"))}
    outputs = {}
    for name, launcher in {
        "subprocess": SubprocessLauncher(),
        "docker": DockerLauncher(ImageResolver(manifest), docker),
    }.items():
        runner = LocalRunner(tmp_path / name, launcher=launcher, use_cache=False, out=io.StringIO())
        record = runner.run(pipeline, arguments)
        assert record.state is StepState.SUCCEEDED, record.failure
        outputs[name] = tree(record.steps["split"].outputs["splits"].path)
        log = (record.folder / "split" / "step.log").read_text()
        assert (pushed.uri in log) == (name == "docker")
    assert set(outputs["docker"]) == {"train.jsonl", "validation.jsonl", "test.jsonl", "counts.json"}
    assert outputs["docker"] == outputs["subprocess"]


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """An untrained resnet18 at 32 px: serving needs a valid model folder, not a good model."""
    folder = tmp_path / "model"
    save_model(
        folder, build_network("resnet18").eval(), ModelConfig(architecture="resnet18", image_size=32, version="t")
    )
    return folder


@pytest.fixture
def serving(manifest: ImagesManifest, docker: DockerCli, model_dir: Path) -> Iterator[str]:
    """`docker run <serve image> serve` as SageMaker starts it: model at /opt/ml/model (read-only), port 8080."""
    port = free_port()
    container = docker.capture(
        [
            "run",
            "--detach",
            "--rm",
            "--publish",
            f"127.0.0.1:{port}:8080",
            "--mount",
            f"type=bind,source={model_dir},target=/opt/ml/model,readonly",
            "--env",
            "SAGEMAKER_MODEL_SERVER_WORKERS=1",
            manifest.uri("serve"),
            "serve",
        ]
    ).strip()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        subprocess.run(["docker", "logs", container], check=False)
        subprocess.run(["docker", "rm", "--force", container], capture_output=True, check=False)


def wait_for_ping(url: str, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=5) as response:
                return response.status
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def test_the_serving_container_answers_ping_and_scores_a_video_as_the_code_does(
    serving: str, model_dir: Path, tmp_path: Path
) -> None:
    clip = face_clip(tmp_path / "clip.mp4", frames=30)
    assert wait_for_ping(serving, seconds=180) == 200
    request = urllib.request.Request(f"{serving}/invocations", data=clip.read_bytes(), method="POST")
    request.add_header("Content-Type", "video/mp4")
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.status == 200
        verdict = json.loads(response.read())
    predictor = Predictor(ServeSettings(model_dir=model_dir, workers=1))
    try:
        expected = predictor.predict_video(clip)
    finally:
        predictor.close()
    assert verdict["label"] == expected.label
    assert verdict["probability_fake"] == pytest.approx(expected.probability_fake, abs=1e-5)
