"""SageMakerRegistry against a moto server (the `aws` fixture points boto3 at it and resets it for each test)."""

import hashlib
import json
from pathlib import Path

import boto3
import pytest

from deepfake.deploy import sagemaker_registry
from deepfake.deploy.sagemaker_registry import SageMakerRegistry
from deepfake.pipelines.registry import ApprovalStatus, RegistryError
from deepfake.pipelines.settings import Settings

BUCKET = "deepfake-models"
GROUP = "deepfake-detector"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/deepfake/serve:1.0.0"


@pytest.fixture
def registry(aws: str) -> SageMakerRegistry:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    return SageMakerRegistry(BUCKET, page_size=2)


def model_files(folder: Path, seed: int, auc: float = 0.9) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    archive, evaluation = folder / "model.tar.gz", folder / "evaluation.json"
    archive.write_bytes(f"weights {seed}".encode())
    evaluation.write_text(json.dumps({"binary_classification_metrics": {"auc": {"value": auc}}}))
    return archive, evaluation


def register(registry: SageMakerRegistry, tmp_path: Path, count: int) -> list[str]:
    arns = []
    for seed in range(count):
        package = registry.register(
            GROUP, *model_files(tmp_path / str(seed), seed), IMAGE, ApprovalStatus.PENDING, f"deepfake/run-{seed}"
        )
        arns.append(package.arn)
    return arns


def test_register_uploads_the_files_and_describes_the_package(registry: SageMakerRegistry, tmp_path: Path) -> None:
    archive, evaluation = model_files(tmp_path, 7, auc=0.93)
    package = registry.register(GROUP, archive, evaluation, IMAGE, ApprovalStatus.PENDING, "deepfake/run-7")

    folder = f"model-registry/{GROUP}/{hashlib.sha256(archive.read_bytes()).hexdigest()}"
    assert package.model_data == f"s3://{BUCKET}/{folder}/model.tar.gz"
    s3 = boto3.client("s3")
    assert s3.get_object(Bucket=BUCKET, Key=f"{folder}/model.tar.gz")["Body"].read() == archive.read_bytes()
    assert (package.group, package.version, package.status) == (GROUP, 1, ApprovalStatus.PENDING)
    assert (package.image, package.source) == (IMAGE, "deepfake/run-7")
    assert package.metrics == json.loads(evaluation.read_text())

    described = boto3.client("sagemaker").describe_model_package(ModelPackageName=package.arn)
    assert described["ModelPackageArn"] == package.arn
    assert described["InferenceSpecification"]["Containers"] == [{"Image": IMAGE, "ModelDataUrl": package.model_data}]
    statistics = described["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics == {"ContentType": "application/json", "S3Uri": f"s3://{BUCKET}/{folder}/evaluation.json"}
    groups = boto3.client("sagemaker").list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert [group["ModelPackageGroupName"] for group in groups] == [GROUP]


def test_s3_uris_are_registered_as_they_are(registry: SageMakerRegistry, tmp_path: Path) -> None:
    archive, evaluation = model_files(tmp_path, 1, auc=0.8)
    s3 = boto3.client("s3")
    s3.upload_file(str(archive), BUCKET, "pipeline/train/model.tar.gz")
    s3.upload_file(str(evaluation), BUCKET, "pipeline/evaluate/evaluation.json")

    package = registry.register(
        GROUP,
        f"s3://{BUCKET}/pipeline/train/model.tar.gz",
        f"s3://{BUCKET}/pipeline/evaluate/evaluation.json",
        IMAGE,
        ApprovalStatus.APPROVED,
        "arn:aws:sagemaker:us-east-1:123456789012:pipeline/deepfake/execution/abc",
    )

    assert package.model_data == f"s3://{BUCKET}/pipeline/train/model.tar.gz"
    assert package.metrics["binary_classification_metrics"]["auc"]["value"] == 0.8
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert sorted(keys) == ["pipeline/evaluate/evaluation.json", "pipeline/train/model.tar.gz"]


def test_newest_approved_is_the_newest_approved_not_the_oldest(registry: SageMakerRegistry, tmp_path: Path) -> None:
    arns = register(registry, tmp_path, 3)
    registry.set_status(GROUP, 1, ApprovalStatus.APPROVED)
    registry.set_status(GROUP, 2, ApprovalStatus.APPROVED)

    newest = registry.newest_approved(GROUP)

    assert (newest.version, newest.arn, newest.status) == (2, arns[1], ApprovalStatus.APPROVED)
    registry.set_status(GROUP, 3, ApprovalStatus.APPROVED)
    assert registry.newest_approved(GROUP).version == 3
    registry.set_status(GROUP, 3, ApprovalStatus.REJECTED)
    assert registry.newest_approved(GROUP).version == 2


def test_listing_follows_every_page_newest_first(registry: SageMakerRegistry, tmp_path: Path) -> None:
    arns = register(registry, tmp_path, 5)  # three pages of two
    registry.set_status(GROUP, 1, ApprovalStatus.APPROVED)

    listed = registry.list(GROUP)

    assert [package.version for package in listed] == [5, 4, 3, 2, 1]
    assert [package.arn for package in listed] == arns[::-1]
    assert [package.source for package in listed] == [f"deepfake/run-{seed}" for seed in (4, 3, 2, 1, 0)]
    assert registry.get(GROUP, 1).arn == arns[0]
    assert registry.newest_approved(GROUP).version == 1


def test_status_changes_reach_sagemaker(registry: SageMakerRegistry, tmp_path: Path) -> None:
    (arn,) = register(registry, tmp_path, 1)
    changed = registry.set_status(GROUP, 1, ApprovalStatus.APPROVED)
    assert changed.status is ApprovalStatus.APPROVED
    described = boto3.client("sagemaker").describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"
    assert SageMakerRegistry(BUCKET).get(GROUP, 1).status is ApprovalStatus.APPROVED


def test_missing_versions_and_approvals_are_errors_that_say_so(registry: SageMakerRegistry, tmp_path: Path) -> None:
    register(registry, tmp_path, 3)
    with pytest.raises(
        RegistryError, match=r"no version 9 in model package group 'deepfake-detector' \(versions: 3, 2, 1\)"
    ):
        registry.set_status(GROUP, 9, ApprovalStatus.APPROVED)
    with pytest.raises(RegistryError, match="no approved version in model package group 'deepfake-detector'"):
        registry.newest_approved(GROUP)
    assert registry.list("no-such-group") == []


def test_an_oversized_evaluation_is_refused(
    registry: SageMakerRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(registry, tmp_path, 1)
    monkeypatch.setattr(sagemaker_registry, "MAX_METRICS_BYTES", 16)
    with pytest.raises(RegistryError, match="over the 16 limit"):
        registry.get(GROUP, 1)


def test_local_files_need_a_bucket(aws: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no bucket configured.*DEEPFAKE_BUCKET"):
        SageMakerRegistry(None).register(GROUP, *model_files(tmp_path, 1), IMAGE, ApprovalStatus.PENDING, "run")


def test_settings_choose_the_bucket(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPFAKE_BUCKET", "from-env")
    assert SageMakerRegistry.from_settings(Settings()).bucket == "from-env"
