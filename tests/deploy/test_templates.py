"""The CloudFormation templates and buildspecs: cfn-lint clean, wired to each other, triggered by approvals."""

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from cfnlint.api import lint, lint_file
from cfnlint.decode import decode

from deepfake.deploy.aws_target import ENDPOINT_TEMPLATE
from tests.support import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
TEMPLATES = sorted((DEPLOY / "templates").glob("*.yml"))
PIPELINE = DEPLOY / "templates" / "deployment-pipeline.yml"


def load(path: Path) -> dict[str, Any]:
    template, errors = decode(str(path))
    assert not errors, errors
    return template


def names(action: dict[str, Any]) -> list[str]:
    """An action's name, or both names of an action chosen by a condition (`Fn::If`)."""
    branches = action["Fn::If"][1:] if "Fn::If" in action else [action]
    return [branch["Name"] for branch in branches]


def test_every_template_is_linted() -> None:
    assert {path.name for path in TEMPLATES} == {"endpoint-config-template.yml", "deployment-pipeline.yml"}


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_templates_pass_cfn_lint(template: Path) -> None:
    assert [str(match) for match in lint_file(template)] == []


def test_cfn_lint_catches_a_broken_endpoint_template() -> None:
    broken = ENDPOINT_TEMPLATE.read_text().replace("EndpointConfigName: !GetAtt", "EndpointConfig: !GetAtt")
    assert any("EndpointConfigName" in str(match) for match in lint(broken))


def test_the_pipeline_runs_build_staging_approval_prod_on_the_build_artifact() -> None:
    stages = load(PIPELINE)["Resources"]["Pipeline"]["Properties"]["Stages"]
    actions = {stage["Name"]: [name for action in stage["Actions"] for name in names(action)] for stage in stages}
    assert list(actions) == ["Source", "Build", "Staging", "ApproveProd", "DeployProd"]
    assert actions["Source"] == ["ProjectZip", "Repository"]  # one of the two, by the UseS3Source condition
    assert actions["Staging"] == ["DeployStaging", "TestStaging"]
    staging = stages[2]
    assert staging["OnFailure"] == {"Result": "ROLLBACK"}
    assert [action["RunOrder"] for action in staging["Actions"]] == [1, 2]
    assert stages[3]["Actions"][0]["ActionTypeId"]["Provider"] == "Manual"

    build_files = set(yaml.safe_load((DEPLOY / "buildspec.yml").read_text())["artifacts"]["files"])
    for stage, stack, config in ((staging, "staging", "staging"), (stages[4], "prod", "prod")):
        deploy = stage["Actions"][0]["Configuration"]
        assert deploy["StackName"] == {"Fn::Sub": f"${{ProjectName}}-{stack}"}
        assert deploy["TemplatePath"] == f"BuildArtifact::{ENDPOINT_TEMPLATE.name}"
        assert deploy["TemplateConfiguration"] == f"BuildArtifact::{config}-config-export.json"
        assert {ENDPOINT_TEMPLATE.name, f"{config}-config-export.json"} <= build_files


def test_codebuild_projects_run_buildspecs_that_exist() -> None:
    resources = load(PIPELINE)["Resources"]
    buildspecs = [resources[name]["Properties"]["Source"]["BuildSpec"] for name in ("BuildProject", "TestProject")]
    assert buildspecs == ["deploy/buildspec.yml", "deploy/test/buildspec.yml"]
    for buildspec in buildspecs:
        assert yaml.safe_load((DEPLOY.parent / buildspec).read_text())["version"] == 0.2


def test_the_smoke_test_role_may_invoke_only_the_staging_endpoint() -> None:
    resources = load(PIPELINE)["Resources"]
    statements = resources["TestRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    invoke = [statement for statement in statements if "sagemaker:InvokeEndpoint" in str(statement["Action"])]
    assert [statement["Resource"] for statement in invoke] == [
        {"Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:endpoint/${ProjectName}-staging"}
    ]
    assert not any("cloudformation:UpdateStack" in str(statement) for statement in statements)


def test_the_approval_rule_matches_approvals_of_the_group_only(aws: str) -> None:
    """The rule's pattern, put on moto's EventBridge with a queue as target, against SageMaker's event shape."""
    rule = load(PIPELINE)["Resources"]["ModelApprovedRule"]["Properties"]
    pattern = json.loads(
        json.dumps(rule["EventPattern"]).replace(json.dumps({"Ref": "ModelPackageGroupName"}), '"deepfake-detector"')
    )
    events, sqs = boto3.client("events"), boto3.client("sqs")
    queue = sqs.create_queue(QueueName="approvals")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="approved", EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule="approved", Targets=[{"Id": "queue", "Arn": queue_arn}])

    def state_change(group: str, status: str, version: int) -> dict[str, str]:
        detail = {"ModelPackageGroupName": group, "ModelPackageVersion": version, "ModelApprovalStatus": status}
        detail["ModelPackageArn"] = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/{version}"
        return {
            "Source": "aws.sagemaker",
            "DetailType": "SageMaker Model Package State Change",
            "Detail": json.dumps(detail),
        }

    events.put_events(
        Entries=[
            state_change("deepfake-detector", "PendingManualApproval", 1),
            state_change("other-group", "Approved", 2),
            state_change("deepfake-detector", "Approved", 3),
            state_change("deepfake-detector", "Rejected", 4),
        ]
    )

    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(message["Body"])["detail"]["ModelPackageVersion"] for message in received] == [3]
