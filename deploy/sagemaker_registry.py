"""SageMaker Model Registry behind the `ModelRegistry` interface (boto3; AWS_ENDPOINT_URL is honoured by boto3 itself).

A group is a model package group, a version is a versioned model package: its InferenceSpecification names the
serving image and the model data in S3, its ModelMetrics point at the evaluation JSON, and its approval status is the
one SageMaker's "Model Package State Change" events report. Local files given to `register` are uploaded first, to
`s3://<bucket>/<prefix>/<group>/<sha256 of the archive>/`, so registering the same model twice reuses its objects.
"""

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from deepfake.components.serve.schema import CONTENT_TYPES, RESPONSE_TYPES
from deepfake.pipelines.registry import ApprovalStatus, ModelPackage, RegistryError
from deepfake.pipelines.settings import Settings

MAX_METRICS_BYTES = 16 * 1024**2
DEFAULT_PAGE_SIZE = 100


class SageMakerRegistry:
    """Model packages in SageMaker Model Registry; `bucket` receives the files `register` is given as local paths."""

    def __init__(
        self,
        bucket: str | None,
        prefix: str = "model-registry",
        region: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        if not 1 <= page_size <= 100:
            raise ValueError(f"page_size is {page_size}: SageMaker lists 1 to 100 packages a page")
        self.bucket, self.prefix, self.page_size = bucket, prefix.strip("/"), page_size
        self.sagemaker = boto3.client("sagemaker", region_name=region)
        self.s3 = boto3.client("s3", region_name=region)

    @classmethod
    def from_settings(cls, settings: Settings) -> "SageMakerRegistry":
        return cls(settings.bucket, region=settings.region)

    def register(
        self,
        group: str,
        model_archive: Path | str,
        metrics_file: Path | str,
        image: str,
        status: ApprovalStatus,
        source: str,
    ) -> ModelPackage:
        """`model_archive` and `metrics_file` are local paths (uploaded here) or s3:// URIs (used as they are)."""
        self._ensure_group(group)
        folder = f"{self.prefix}/{group}/{_content_id(model_archive)}"
        model_data = self._upload(model_archive, f"{folder}/{Path(model_archive).name}")
        metrics_uri = self._upload(metrics_file, f"{folder}/{Path(metrics_file).name}")
        arn = self.sagemaker.create_model_package(
            ModelPackageGroupName=group,
            ModelPackageDescription=f"{group} from {source}"[:1000],
            InferenceSpecification={
                "Containers": [{"Image": image, "ModelDataUrl": model_data}],
                "SupportedContentTypes": list(CONTENT_TYPES),
                "SupportedResponseMIMETypes": list(RESPONSE_TYPES),
            },
            ModelMetrics={"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": metrics_uri}}},
            MetadataProperties={"GeneratedBy": source[:1024]},
            ModelApprovalStatus=status.value,
        )["ModelPackageArn"]
        return self._describe(arn)

    def get(self, group: str, version: int) -> ModelPackage:
        known = []
        for summary in self._summaries(group):
            if summary["ModelPackageVersion"] == version:
                return self._describe(summary["ModelPackageArn"])
            known.append(summary["ModelPackageVersion"])
        shown = ", ".join(str(number) for number in sorted(known, reverse=True)) or "none"
        raise RegistryError(f"no version {version} in model package group '{group}' (versions: {shown})")

    def list(self, group: str) -> list[ModelPackage]:
        """Newest first; one DescribeModelPackage and one S3 read of the evaluation a package."""
        return [self._describe(summary["ModelPackageArn"]) for summary in self._summaries(group)]

    def set_status(self, group: str, version: int, status: ApprovalStatus) -> ModelPackage:
        arn = self.get(group, version).arn
        if arn is None:
            raise RegistryError(f"model group '{group}' version {version} has no model package ARN")
        self.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status.value)
        return self._describe(arn)

    def newest_approved(self, group: str) -> ModelPackage:
        """The approved package created last: an explicit descending sort, and pages followed past empty ones."""
        for summary in self._summaries(group, ApprovalStatus.APPROVED):
            return self._describe(summary["ModelPackageArn"])
        raise RegistryError(
            f"no approved version in model package group '{group}': approve one first"
            " (python -m deepfake.deploy approve N, or in SageMaker Studio)"
        )

    def _summaries(self, group: str, status: ApprovalStatus | None = None) -> Iterator[dict[str, Any]]:
        filters = {"ModelApprovalStatus": status.value} if status else {}
        pages = self.sagemaker.get_paginator("list_model_packages").paginate(
            ModelPackageGroupName=group,
            ModelPackageType="Versioned",
            SortBy="CreationTime",
            SortOrder="Descending",
            PaginationConfig={"PageSize": self.page_size},
            **filters,
        )
        for page in pages:
            yield from page["ModelPackageSummaryList"]

    def _describe(self, arn: str) -> ModelPackage:
        description = self.sagemaker.describe_model_package(ModelPackageName=arn)
        container = description["InferenceSpecification"]["Containers"][0]
        statistics = description.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {})
        return ModelPackage(
            group=description["ModelPackageGroupName"],
            version=description["ModelPackageVersion"],
            status=ApprovalStatus(description["ModelApprovalStatus"]),
            model_data=container["ModelDataUrl"],
            image=container["Image"],
            metrics=self._read_metrics(statistics["S3Uri"], arn) if "S3Uri" in statistics else {},
            source=description.get("MetadataProperties", {}).get("GeneratedBy", ""),
            created_at=description["CreationTime"],
            arn=arn,
        )

    def _ensure_group(self, group: str) -> None:
        try:
            self.sagemaker.describe_model_package_group(ModelPackageGroupName=group)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ValidationException":
                raise
            self.sagemaker.create_model_package_group(
                ModelPackageGroupName=group, ModelPackageGroupDescription=f"{group} (created on first registration)"
            )

    def _upload(self, file: Path | str, key: str) -> str:
        if isinstance(file, str):
            if not file.startswith("s3://"):
                raise ValueError(f"'{file}' is neither a local Path nor an s3:// URI: pass one of those")
            return file
        if not self.bucket:
            raise ValueError(f"cannot upload {file}: no bucket configured (set DEEPFAKE_BUCKET or pass bucket=...)")
        self.s3.upload_file(str(file), self.bucket, key)
        return f"s3://{self.bucket}/{key}"

    def _read_metrics(self, uri: str, arn: str) -> dict[str, Any]:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            head = self.s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            raise RegistryError(
                f"{arn}: ModelMetrics.ModelQuality.Statistics points at {uri}, which cannot be read"
                f" ({exc.response['Error'].get('Code')}): restore the object or re-register the model"
            ) from exc
        if head["ContentLength"] > MAX_METRICS_BYTES:
            raise RegistryError(
                f"{arn}: the evaluation at {uri} is {head['ContentLength']} bytes, over the {MAX_METRICS_BYTES} limit"
            )
        body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read(MAX_METRICS_BYTES + 1)
        try:
            metrics = json.loads(body)
        except json.JSONDecodeError as exc:
            raise RegistryError(f"{arn}: the evaluation at {uri} is not JSON ({exc})") from exc
        if not isinstance(metrics, dict):
            raise RegistryError(f"{arn}: the evaluation at {uri} is not a JSON object")
        return metrics


def _content_id(file: Path | str) -> str:
    """The sha256 of a local file, or of an S3 URI's text: a folder name that changes when the model does."""
    digest = hashlib.sha256()
    if isinstance(file, str):
        digest.update(file.encode())
        return digest.hexdigest()
    with file.open("rb") as stream:
        for block in iter(lambda: stream.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()
