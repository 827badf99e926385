"""The image build without a docker daemon: ECR against the moto server, tags, manifest, Dockerfile conventions.

Building and pushing for real is `make test-containers` (tests/containers/).
"""

import base64
import hashlib
import io
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

import boto3
import pytest
from pydantic import ValidationError

from deepfake.pipelines.cli.main import main
from deepfake.pipelines.dag.loading import discover_components
from deepfake.pipelines.images.build import BuildRequest, build_images, git_tag, merged_manifest
from deepfake.pipelines.images.docker_cli import DockerCli
from deepfake.pipelines.images.ecr import EcrError, EcrRegistry, ensure_repositories, login_credentials
from deepfake.pipelines.images.manifest import ImagesManifest, PushedImage
from deepfake.pipelines.images.targets import ImageBuildError, image_targets, select
from tests.support import REPO_ROOT

ACCOUNT = "123456789012"  # moto's default account
ECR = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"


class RecordingDocker(DockerCli):
    """Stands in for the docker daemon only: records each command and reports a digest per pushed reference."""

    def __init__(self) -> None:
        super().__init__(out=io.StringIO())
        self.calls: list[tuple] = []

    def build(
        self,
        dockerfile: Path,
        context: Path,
        tags: Sequence[str],
        build_args: dict[str, str],
        stage: str | None = None,
    ) -> None:
        self.calls.append(("build", dockerfile, tuple(tags), dict(build_args), stage))

    def push(self, reference: str) -> None:
        self.calls.append(("push", reference))

    def login(self, registry: str, username: str, password: str) -> None:
        self.calls.append(("login", registry, username, password))

    def repo_digest(self, reference: str, repository: str) -> str:
        return "sha256:" + hashlib.sha256(reference.encode()).hexdigest()


@pytest.mark.parametrize(
    ("registry", "parts"),
    [
        (ECR, (ACCOUNT, "us-east-1")),
        ("210987654321.dkr.ecr.eu-west-3.amazonaws.com", ("210987654321", "eu-west-3")),
        ("210987654321.dkr.ecr-fips.us-gov-west-1.amazonaws.com", ("210987654321", "us-gov-west-1")),
        ("210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn", ("210987654321", "cn-north-1")),
        ("127.0.0.1:5000", None),
        ("ghcr.io/team", None),
        ("12345.dkr.ecr.us-east-1.amazonaws.com", None),
    ],
)
def test_ecr_registries_are_recognised_by_their_host(registry: str, parts: tuple[str, str] | None) -> None:
    parsed = EcrRegistry.parse(registry)
    assert (parsed.account, parsed.region) == parts if parts else parsed is None


def test_the_login_password_is_decoded_from_ecrs_token(aws: str) -> None:
    registry = EcrRegistry.parse(ECR)
    token = boto3.client("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]
    username, password = login_credentials(registry, registry.client())
    assert f"{username}:{password}" == base64.b64decode(token).decode()
    assert username == "AWS" and password


def test_missing_repositories_are_created_with_scan_on_push_and_existing_ones_left_alone(aws: str) -> None:
    registry = EcrRegistry.parse(ECR)
    client = registry.client()
    client.create_repository(repositoryName="deepfake/serve", imageScanningConfiguration={"scanOnPush": False})
    created = ensure_repositories(registry, client, ["deepfake/serve", "deepfake/split-dataset"])
    assert created == ["deepfake/split-dataset"]
    repositories = {repo["repositoryName"]: repo for repo in client.describe_repositories()["repositories"]}
    assert repositories["deepfake/split-dataset"]["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repositories["deepfake/serve"]["imageScanningConfiguration"] == {"scanOnPush": False}
    assert ensure_repositories(registry, client, ["deepfake/serve", "deepfake/split-dataset"]) == []


def test_refused_ecr_calls_name_the_call_and_the_permission(aws: str) -> None:
    registry = EcrRegistry.parse(ECR)
    with pytest.raises(EcrError, match="CreateRepository 'Not_A_Name' failed"):
        ensure_repositories(registry, registry.client(), ["Not_A_Name"])


def test_an_ecr_build_logs_in_creates_repositories_tags_pushes_and_writes_the_manifest(
    aws: str, tmp_path: Path
) -> None:
    docker = RecordingDocker()
    manifest_path = tmp_path / "images.json"
    request = BuildRequest(registry=ECR, tag="abc1234", components=("split-dataset", "serve"), manifest=manifest_path)
    manifest = build_images(request, docker, out=io.StringIO())
    login, *deps, split_build, split_push, split_push_tag, serve_build, _, _ = docker.calls
    assert login == ("login", ECR, *login_credentials(EcrRegistry.parse(ECR), boto3.client("ecr")))
    # The deps stages first, each once, tagged locally and never pushed.
    deps_file = Path("components/deps.Dockerfile")
    assert deps == [
        ("build", deps_file, ("deepfake/deps-core",), {}, "core"),
        ("build", deps_file, ("deepfake/deps-serve",), {}, "serve"),
    ]
    split = next(target for target in image_targets() if target.name == "split-dataset")
    expected_split = [f"{ECR}/deepfake/split-dataset:{split.version}", f"{ECR}/deepfake/split-dataset:abc1234"]
    assert split_build == ("build", Path("components/split_dataset/Dockerfile"), tuple(expected_split), {}, None)
    assert (split_push, split_push_tag) == (("push", expected_split[0]), ("push", expected_split[1]))
    assert serve_build[1] == Path("components/serve/Dockerfile")
    assert sorted(repo["repositoryName"] for repo in boto3.client("ecr").describe_repositories()["repositories"]) == [
        "deepfake/serve",
        "deepfake/split-dataset",
    ]
    assert ImagesManifest.load(manifest_path) == manifest
    assert manifest.registry == ECR and sorted(manifest.images) == ["serve", "split-dataset"]
    pushed = manifest.images["split-dataset"]
    assert (pushed.repository, pushed.tag, pushed.version) == (
        f"{ECR}/deepfake/split-dataset",
        "abc1234",
        split.version,
    )
    assert manifest.uri("split-dataset") == f"{ECR}/deepfake/split-dataset@{pushed.digest}"


def test_a_plain_registry_is_pushed_without_login_and_the_base_image_is_passed(aws: str, tmp_path: Path) -> None:
    docker = RecordingDocker()
    request = BuildRequest(
        registry="127.0.0.1:5000",
        tag="t1",
        components=("split-dataset",),
        base_image="debian-py:1",
        manifest=tmp_path / "m.json",
    )
    build_images(request, docker, out=io.StringIO())
    assert [call[0] for call in docker.calls] == ["build", "build", "push", "push"]
    deps, image = docker.calls[:2]
    assert (deps[3], deps[4]) == ({"BASE_IMAGE": "debian-py:1"}, "core")
    assert image[3] == {}, "the base image goes to the deps stage only"
    assert boto3.client("ecr").describe_repositories()["repositories"] == []


def test_without_a_registry_images_are_only_built_and_tagged_locally(tmp_path: Path) -> None:
    docker = RecordingDocker()
    request = BuildRequest(tag="t1", components=("split-dataset",), manifest=tmp_path / "m.json")
    assert build_images(request, docker, out=io.StringIO()) is None
    assert [call[0] for call in docker.calls] == ["build", "build"]
    assert docker.calls[1][2][1] == "deepfake/split-dataset:t1"
    assert not (tmp_path / "m.json").exists()


def test_a_partial_build_updates_its_entries_and_another_registry_starts_a_new_manifest(tmp_path: Path) -> None:
    path = tmp_path / "images.json"
    old = PushedImage(component="serve", version="1.0.0", repository="r:5000/deepfake/serve", tag="old", digest=None)
    ImagesManifest(registry="r:5000", git_commit="old", images={"serve": old}).save(path)
    same = merged_manifest(path, "r:5000", "new")
    assert same.git_commit == "new" and same.images == {"serve": old}
    assert merged_manifest(path, "other:5000", "new").images == {}


def test_every_component_and_the_server_have_an_image_whose_entrypoint_is_the_specs() -> None:
    targets = {target.name: target for target in image_targets()}
    specs = {component.name: component.spec for component in discover_components("deepfake.components")}
    assert set(specs) <= set(targets) and "serve" in targets
    for name, target in targets.items():
        entrypoint = re.search(r"^ENTRYPOINT (\[.*\])$", target.dockerfile.read_text(), re.MULTILINE)
        assert entrypoint, f"{target.dockerfile} has no exec-form ENTRYPOINT"
        folder = target.dockerfile.parent.name
        assert entrypoint.group(1) == f'["python", "-m", "deepfake.components.{folder}"]'
        if name in specs:
            assert (specs[name].image, specs[name].version) == (target.image, target.version)
            assert specs[name].entrypoint == ("python", "-m", f"deepfake.components.{folder}")


def deps_stages() -> dict[str, str]:
    """Stage → the stage or image it starts from, in components/deps.Dockerfile."""
    text = (REPO_ROOT / "components/deps.Dockerfile").read_text()
    return {stage: parent for parent, stage in re.findall(r"^FROM (\S+) AS (\S+)$", text, re.MULTILINE)}


def test_every_image_starts_from_a_deps_stage_on_the_one_public_base() -> None:
    text = (REPO_ROOT / "components/deps.Dockerfile").read_text()
    assert re.findall(r"^ARG BASE_IMAGE=(\S+)$", text, re.MULTILINE) == ["python:3.11-slim-bookworm"]
    assert [parent for parent in deps_stages().values() if parent not in deps_stages()] == ["${BASE_IMAGE}"]
    for target in image_targets():
        text = target.dockerfile.read_text()
        assert target.deps in deps_stages(), target.name
        assert re.findall(r"^FROM (.+)$", text, re.MULTILINE) == ["${DEPS_IMAGE}"], target.name
        assert "pip install" not in text, f"{target.name}: dependencies belong in a deps stage"


def test_torch_is_installed_once_and_every_torch_image_shares_that_layer() -> None:
    text = (REPO_ROOT / "components/deps.Dockerfile").read_text()
    assert len(re.findall(r"^RUN pip install .*torch torchvision$", text, re.MULTILINE)) == 1
    stages = deps_stages()

    def lineage(stage: str) -> list[str]:
        return [stage, *lineage(stages[stage])] if stage in stages else []

    torch_images = {target.name for target in image_targets() if "torch" in lineage(target.deps)}
    assert torch_images == {"evaluate-model", "score-videos", "serve", "train-classifier"}
    assert "torch" not in lineage("core") + lineage("video"), "the light images carry no torch"


def test_a_dockerfile_folder_without_a_component_or_image_names_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "imagepkg"
    (package / "stray").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "stray" / "__init__.py").write_text("")
    (package / "stray" / "component.py").write_text("COMPONENT = None\n")
    (package / "stray" / "Dockerfile").write_text("FROM scratch\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImageBuildError, match=r"stray/Dockerfile: its folder defines no COMPONENT"):
        image_targets(package, "imagepkg")


def test_unknown_component_names_are_refused_listing_the_images() -> None:
    with pytest.raises(ImageBuildError, match=r"no image named nope; the images are .*split-dataset"):
        select(image_targets(), ("split-dataset", "nope"))


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"registry": "https://127.0.0.1:5000"}, "registry 'https://127.0.0.1:5000' must be a host"),
        ({"tag": "-bad"}, "tag '-bad' is not a docker tag"),
    ],
)
def test_bad_registries_and_tags_are_refused_naming_them(fields: dict, problem: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(problem)):
        BuildRequest(**fields)


def test_the_cli_refuses_a_registry_with_a_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["images", "build", "--registry", "https://example.com"]) == 2
    assert "registry 'https://example.com' must be a host" in capsys.readouterr().err


def test_the_default_tag_is_the_commit_marked_dirty_by_changed_or_new_files(tmp_path: Path) -> None:
    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *arguments],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    assert git_tag(tmp_path) is None
    git("init", "-q")
    (tmp_path / "file.txt").write_text("one")
    git("add", "file.txt")
    git("commit", "-q", "-m", "one")
    commit = git("rev-parse", "--short", "HEAD")
    assert git_tag(tmp_path) == commit
    (tmp_path / "file.txt").write_text("two")
    assert git_tag(tmp_path) == f"{commit}-dirty"
    git("checkout", "--", "file.txt")
    (tmp_path / "new_module.py").write_text("x = 1\n")
    assert git_tag(tmp_path) == f"{commit}-dirty"
