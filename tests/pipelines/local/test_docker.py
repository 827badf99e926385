"""The docker launcher's `docker run` and image choice, checked without a daemon; tests/containers/ runs it for real."""

import io
import os
import re
from pathlib import Path

import pytest

from deepfake.components.contract import ContainerLayout
from deepfake.components.split_dataset.component import COMPONENT as SPLIT_DATASET
from deepfake.pipelines import Pipeline
from deepfake.pipelines.images.docker_cli import DockerCli
from deepfake.pipelines.images.manifest import ImagesManifest, ImagesManifestError, PushedImage
from deepfake.pipelines.images.resolver import ImageResolver
from deepfake.pipelines.local.docker import LAUNCH_FAILED, DockerLauncher
from deepfake.pipelines.local.launch import Invocation
from deepfake.pipelines.local.records import StepState
from deepfake.pipelines.local.runner import LocalRunner
from tests.toy import fit_mean

DIGEST = "sha256:" + "ab" * 32


class NoLocalImages(DockerCli):
    """A daemon that holds no images; only `image_exists` is asked before a run that cannot start."""

    def image_exists(self, reference: str) -> bool:
        return False


def invocation(tmp_path: Path, spec=SPLIT_DATASET.spec, inputs: dict[str, Path] | None = None) -> Invocation:
    layout = ContainerLayout(spec.kind, tmp_path / "step" / "ml")
    layout.base.mkdir(parents=True)
    return Invocation(spec, layout, inputs or {}, ["--seed", "5"], tmp_path / "step" / "step.log")


def mounts(command: list[str]) -> list[str]:
    return [command[index + 1] for index, item in enumerate(command) if item == "--mount"]


def test_a_processing_step_runs_as_the_user_without_network_with_inputs_read_only(tmp_path: Path) -> None:
    faces = tmp_path / "faces"
    faces.mkdir()
    call = invocation(tmp_path, inputs={"faces": faces})
    command = DockerLauncher(ImageResolver()).command(call, "img:1")
    assert command[:2] == ["docker", "run"] and {"--rm", "--init"} <= set(command)
    assert command[command.index("--user") + 1] == f"{os.getuid()}:{os.getgid()}"
    assert command[command.index("--network") + 1] == "none"
    assert mounts(command) == [
        f"type=bind,source={call.layout.base.resolve()},target=/opt/ml",
        f"type=bind,source={faces.resolve()},target=/opt/ml/processing/input/faces,readonly",
    ]
    assert command[command.index("--entrypoint") :] == [
        "--entrypoint",
        "python",
        "img:1",
        "-m",
        "deepfake.components.split_dataset",
        "--seed",
        "5",
    ]
    assert call.layout.input_dir("faces").is_dir()  # the mount point is the user's, not created by the daemon


def test_a_training_step_gets_train_and_its_checkpoints_and_archive_links_resolve(tmp_path: Path) -> None:
    model = tmp_path / "registered" / "model.tar.gz"
    model.parent.mkdir()
    model.write_bytes(b"archive")
    given = tmp_path / "given"
    given.mkdir()
    (given / "model.tar.gz").symlink_to(model)
    call = invocation(tmp_path, spec=fit_mean.COMPONENT.spec, inputs={"numbers": given})
    checkpoints = tmp_path / "step" / "checkpoints"
    checkpoints.mkdir()
    call.layout.checkpoint_dir.symlink_to(checkpoints)
    command = DockerLauncher(ImageResolver()).command(call, "img:1")
    assert command[-3:] == ["train", "--seed", "5"]
    assert f"type=bind,source={checkpoints},target={checkpoints}" in mounts(command)
    assert f"type=bind,source={model},target={model},readonly" in mounts(command)
    assert f"type=bind,source={given},target=/opt/ml/input/data/numbers,readonly" in mounts(command)


def pushed(version: str) -> ImagesManifest:
    image = PushedImage(
        component="split-dataset", version=version, repository="r:5000/deepfake/split-dataset", tag="c1", digest=DIGEST
    )
    return ImagesManifest(registry="r:5000", images={"split-dataset": image})


def test_the_manifests_digest_wins_then_the_registry_then_the_local_tag() -> None:
    spec = SPLIT_DATASET.spec
    assert ImageResolver(pushed(spec.version), "other:1").resolve(spec) == f"r:5000/deepfake/split-dataset@{DIGEST}"
    assert ImageResolver(ImagesManifest(registry="r:5000"), "reg:5000").resolve(spec) == (
        f"reg:5000/deepfake/split-dataset:{spec.version}"
    )
    assert ImageResolver().resolve(spec) == f"deepfake/split-dataset:{spec.version}"
    with pytest.raises(ImagesManifestError, match=r"holds version 0\.0\.1, the pipeline uses"):
        ImageResolver(pushed("0.0.1")).resolve(spec)


def faces_pipeline() -> Pipeline:
    pipeline = Pipeline("docker-split")
    faces = pipeline.parameter("Faces", str, "")
    pipeline.step("split", SPLIT_DATASET, inputs={"faces": faces})
    return pipeline


def write_faces(folder: Path) -> Path:
    folder.mkdir()
    for name in ("faces.jsonl", "rejected.jsonl"):
        (folder / name).write_text("")
    return folder


@pytest.mark.parametrize(
    ("docker", "reason"),
    [
        (NoLocalImages(), r"image deepfake/split-dataset:.* is not on this machine: build it \(`make build-components"),
        (DockerCli(executable="/nonexistent/docker"), "'/nonexistent/docker' not found: install docker"),
    ],
)
def test_a_step_whose_container_cannot_start_fails_with_the_fix(tmp_path: Path, docker: DockerCli, reason: str) -> None:
    runner = LocalRunner(tmp_path / "runs", launcher=DockerLauncher(ImageResolver(), docker), out=io.StringIO())
    record = runner.run(faces_pipeline(), {"Faces": str(write_faces(tmp_path / "faces"))})
    step = record.steps["split"]
    assert step.state is StepState.FAILED and step.attempts[-1].exit_code == LAUNCH_FAILED
    assert re.search(reason, step.reason or "")
