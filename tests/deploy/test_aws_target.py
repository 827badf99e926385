"""Rendering stage configs and deploying stage stacks with CloudFormation, against a moto server.

moto's CloudFormation creates the Model (from the model package), the EndpointConfig and the Endpoint, but it
ignores the template's EndpointName and names the endpoint `<stack>-Endpoint-<random>`; the tests therefore check
the endpoint through the stack's EndpointName output, and the `<project>-<stage>` name in the template itself.
"""

import json
import urllib.request
from pathlib import Path

import boto3
import pytest
from cfnlint.decode import decode

from deepfake.deploy.aws_target import (
    ENDPOINT_TEMPLATE,
    AwsProject,
    CloudFormationTarget,
    StackError,
    render_stage_configs,
    stage_template_configuration,
)
from deepfake.deploy.sagemaker_registry import SageMakerRegistry
from deepfake.deploy.stages import Stage, StageConfig
from deepfake.pipelines.registry import ApprovalStatus, LocalRegistry, ModelPackage
from deepfake.pipelines.settings import Settings

BUCKET = "deepfake-models"
GROUP = "deepfake-detector"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/deepfake/serve:1.0.0"
ROLE = "arn:aws:iam::123456789012:role/deepfake-model"
PROJECT = AwsProject(
    name="deepfake",
    id="p-0123456789ab",
    model_role_arn=ROLE,
    data_capture_uri=f"s3://{BUCKET}/data-capture",
    poll_seconds=0.01,
    timeout_seconds=10,
)


@pytest.fixture
def packages(aws: str, tmp_path: Path) -> list[ModelPackage]:
    """Three registered versions; 1 and 2 approved, 3 still pending."""
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    registry = SageMakerRegistry(BUCKET, page_size=2)
    registered = []
    for seed in range(3):
        folder = tmp_path / str(seed)
        folder.mkdir()
        (folder / "model.tar.gz").write_bytes(f"weights {seed}".encode())
        (folder / "evaluation.json").write_text("{}")
        package = registry.register(
            GROUP, folder / "model.tar.gz", folder / "evaluation.json", IMAGE, ApprovalStatus.PENDING, f"run-{seed}"
        )
        registered.append(package)
    registry.set_status(GROUP, 1, ApprovalStatus.APPROVED)
    registered[1] = registry.set_status(GROUP, 2, ApprovalStatus.APPROVED)
    return registered


def stack_resources(stack: str) -> dict[str, str]:
    """Logical id → physical name of the stack's SageMaker resources (moto's physical ids are ARNs)."""
    summaries = boto3.client("cloudformation").list_stack_resources(StackName=stack)["StackResourceSummaries"]
    return {item["LogicalResourceId"]: item["PhysicalResourceId"].split("/")[-1] for item in summaries}


def served_container(stack: str) -> dict:
    """The stage model's container: its ModelPackageName and the Environment the server reads."""
    model = boto3.client("sagemaker").describe_model(ModelName=stack_resources(stack)["Model"])
    return model["PrimaryContainer"]


def served_package(stack: str) -> str:
    return served_container(stack)["ModelPackageName"]


def test_rendered_configs_carry_the_newest_approved_package_the_stage_settings_and_tags(
    packages: list[ModelPackage], tmp_path: Path
) -> None:
    paths = render_stage_configs(SageMakerRegistry(BUCKET), GROUP, PROJECT, tmp_path / "build")

    assert [path.name for path in paths] == ["staging-config-export.json", "prod-config-export.json"]
    template_parameters = set(decode(str(ENDPOINT_TEMPLATE))[0]["Parameters"])
    for path, stage in zip(paths, Stage, strict=True):
        config, rendered = StageConfig.load(stage), json.loads(path.read_text())
        assert set(rendered) == {"Parameters", "Tags"}
        assert set(rendered["Parameters"]) == template_parameters
        assert rendered["Parameters"] == {
            "ProjectName": "deepfake",
            "ModelPackageName": packages[1].arn,
            "ModelExecutionRoleArn": ROLE,
            "StageName": stage.value,
            "EndpointInstanceType": config.instance_type,
            "EndpointInstanceCount": str(config.instance_count),
            "SamplingPercentage": str(config.data_capture_sampling_percentage),
            "DataCaptureUploadPath": f"s3://{BUCKET}/data-capture/deepfake-{stage.value}",
        }
        assert rendered["Tags"] == {
            "sagemaker:project-name": "deepfake",
            "sagemaker:project-id": "p-0123456789ab",
            "stage": stage.value,
        }


def test_the_staging_stack_is_created_from_the_endpoint_template(packages: list[ModelPackage]) -> None:
    config = StageConfig.load(Stage.STAGING)

    endpoint = CloudFormationTarget(PROJECT).deploy(packages[1], config)

    cloudformation, sagemaker = boto3.client("cloudformation"), boto3.client("sagemaker")
    (stack,) = cloudformation.describe_stacks(StackName="deepfake-staging")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert {tag["Key"]: tag["Value"] for tag in stack["Tags"]} == {
        "sagemaker:project-name": "deepfake",
        "sagemaker:project-id": "p-0123456789ab",
        "stage": "staging",
    }
    resources = stack_resources("deepfake-staging")
    assert resources["Endpoint"] == endpoint
    assert sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "InService"
    model = sagemaker.describe_model(ModelName=resources["Model"])
    assert model["PrimaryContainer"] == {
        "ModelPackageName": packages[1].arn,
        "Environment": {"DEEPFAKE_SERVE_MODEL_PACKAGE": f"{GROUP}/{packages[1].version}"},
    }
    assert model["ExecutionRoleArn"] == ROLE
    endpoint_config = sagemaker.describe_endpoint_config(EndpointConfigName=resources["EndpointConfig"])
    (variant,) = endpoint_config["ProductionVariants"]
    assert (variant["ModelName"], variant["InstanceType"], variant["InitialInstanceCount"]) == (
        resources["Model"],
        config.instance_type,
        config.instance_count,
    )
    capture = endpoint_config["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == config.data_capture_sampling_percentage
    assert capture["DestinationS3Uri"] == f"s3://{BUCKET}/data-capture/deepfake-staging"
    # What moto does not model: on AWS the endpoint is named by the template, `<project>-<stage>`.
    template = decode(str(ENDPOINT_TEMPLATE))[0]
    assert template["Resources"]["Endpoint"]["Properties"]["EndpointName"] == {"Fn::Sub": "${ProjectName}-${StageName}"}
    assert PROJECT.stack_name(Stage.STAGING) == "deepfake-staging"


def test_a_new_package_updates_the_stack_and_restore_brings_the_previous_one_back(
    packages: list[ModelPackage],
) -> None:
    target, config = CloudFormationTarget(PROJECT), StageConfig.load(Stage.STAGING)
    target.deploy(packages[0], config)
    target.deploy(packages[1], config)
    assert served_package("deepfake-staging") == packages[1].arn
    assert target.deployed_package_arn(Stage.STAGING) == packages[1].arn
    environment = served_container("deepfake-staging")["Environment"]
    assert target.deployed_package(config) == f"{GROUP}/{packages[1].version}"
    assert environment["DEEPFAKE_SERVE_MODEL_PACKAGE"] == f"{GROUP}/{packages[1].version}"

    target.restore(config, packages[0])

    assert served_package("deepfake-staging") == packages[0].arn
    assert target.deployed_package_arn(Stage.STAGING) == packages[0].arn
    assert len(boto3.client("sagemaker").list_models()["Models"]) == 1
    assert target.deploy(packages[0], config) == stack_resources("deepfake-staging")["Endpoint"]


def test_restore_without_a_previous_package_deletes_the_stage_and_leaves_prod(packages: list[ModelPackage]) -> None:
    target = CloudFormationTarget(PROJECT)
    staging, prod = StageConfig.load(Stage.STAGING), StageConfig.load(Stage.PROD)
    target.deploy(packages[0], prod)
    target.deploy(packages[1], staging)

    target.restore(staging, None)

    assert target.deployed_package_arn(Stage.STAGING) is None
    assert [stack["StackName"] for stack in boto3.client("cloudformation").describe_stacks()["Stacks"]] == [
        "deepfake-prod"
    ]
    assert served_package("deepfake-prod") == packages[0].arn
    (endpoint,) = boto3.client("sagemaker").list_endpoints()["Endpoints"]
    assert endpoint["EndpointName"] == stack_resources("deepfake-prod")["Endpoint"]
    target.restore(staging, None)  # nothing left to remove is not an error


def test_invoke_calls_the_stage_endpoint(packages: list[ModelPackage], aws: str) -> None:
    target, config = CloudFormationTarget(PROJECT), StageConfig.load(Stage.STAGING)
    with pytest.raises(StackError, match="stage stack deepfake-staging does not exist: deploy the stage first"):
        target.invoke(config, b"clip", "video/mp4")
    target.deploy(packages[1], config)
    verdict = {"verdict": "real", "probability_fake": 0.12}
    queued = {"results": [{"Body": json.dumps(verdict), "ContentType": "application/json"}]}
    request = urllib.request.Request(
        f"{aws}/moto-api/static/sagemaker/endpoint-results",
        data=json.dumps(queued).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request).close()

    result = target.invoke(config, b"clip", "video/mp4")

    assert result.status == 200
    assert json.loads(result.body) == verdict


def test_a_local_package_cannot_go_to_sagemaker(tmp_path: Path) -> None:
    (tmp_path / "model.tar.gz").write_bytes(b"weights")
    (tmp_path / "evaluation.json").write_text("{}")
    package = LocalRegistry(tmp_path / "registry").register(
        GROUP, tmp_path / "model.tar.gz", tmp_path / "evaluation.json", IMAGE, ApprovalStatus.APPROVED, "run"
    )
    with pytest.raises(ValueError, match="deepfake-detector version 1 has no model package ARN"):
        stage_template_configuration(StageConfig.load(Stage.STAGING), package, PROJECT)


def test_the_project_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DEEPFAKE_PROJECT_ID", "DEEPFAKE_BUCKET", "DEEPFAKE_DEPLOY_MODEL_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="DEEPFAKE_PROJECT_ID, DEEPFAKE_BUCKET, DEEPFAKE_DEPLOY_MODEL"):
        AwsProject.from_settings(Settings())
    for name, value in {
        "DEEPFAKE_PROJECT_NAME": "detector",
        "DEEPFAKE_PROJECT_ID": "p-1",
        "DEEPFAKE_BUCKET": "project-bucket",
        "DEEPFAKE_DEPLOY_MODEL_ROLE_ARN": ROLE,
    }.items():
        monkeypatch.setenv(name, value)
    project = AwsProject.from_settings(Settings())
    assert (project.name, project.id, project.model_role_arn) == ("detector", "p-1", ROLE)
    assert project.data_capture_uri == "s3://project-bucket/data-capture"
    assert project.endpoint_template == str(ENDPOINT_TEMPLATE)
    monkeypatch.setenv("DEEPFAKE_PROJECT_NAME", "Detector")
    with pytest.raises(ValueError, match="name"):
        AwsProject.from_settings(Settings())
