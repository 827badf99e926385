"""Every IAM statement in the templates, checked against the resource types AWS authorizes each action on.

The action → resource-type data is the one cfn-lint ships (Policies.json, generated from AWS's Service Authorization
Reference). It lists every type an action can apply to, not which of them one call needs; the few actions that AWS
authorizes on several resources at once are named in ALL_OF (each checked against the data too).
"""

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import cfnlint
import pytest
from cfnlint.decode import decode

from tests.support import REPO_ROOT

TEMPLATES = sorted((REPO_ROOT / "deploy" / "templates").glob("*.yml"))
POLICIES = json.loads((Path(cfnlint.__file__).parent / "data/AdditionalSpecs/Policies.json").read_text())
# CreateEndpoint and UpdateEndpoint are authorized on the endpoint and on the endpoint config it names.
ALL_OF = {
    "sagemaker:createendpoint": {"endpoint", "endpoint-config"},
    "sagemaker:updateendpoint": {"endpoint", "endpoint-config"},
}
SAMPLE = {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012"}
ARN_OF_TYPE = {
    "AWS::CodeBuild::Project": "arn:aws:codebuild:eu-west-1:123456789012:project/sample",
    "AWS::IAM::Role": "arn:aws:iam::123456789012:role/sample",
    "AWS::S3::Bucket": "arn:aws:s3:::sample",
}


def resolve(value: Any, template: dict[str, Any]) -> str:
    """A Resource value as an example ARN: pseudo parameters and parameters replaced by sample values."""
    if isinstance(value, str):
        return value
    if "Fn::Sub" in value:

        def sample(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in SAMPLE:
                return SAMPLE[name]
            if name.endswith(".Arn"):
                return ARN_OF_TYPE[template["Resources"][name.removesuffix(".Arn")]["Type"]]
            return "sample"

        return re.sub(r"\$\{([^}]+)\}", sample, value["Fn::Sub"])
    if "Fn::GetAtt" in value:
        return ARN_OF_TYPE[template["Resources"][value["Fn::GetAtt"][0]]["Type"]]
    if "Ref" in value:
        name = value["Ref"]
        if name.endswith("RoleArn"):
            return "arn:aws:iam::123456789012:role/sample"
        if name.endswith("ConnectionArn"):
            return "arn:aws:codeconnections:eu-west-1:123456789012:connection/sample"
    raise AssertionError(f"cannot resolve the resource {value!r}")


def statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(role, Allow statement) for every inline policy of every role; both branches of an `Fn::If`."""
    found = []
    for role, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                branches = statement["Fn::If"][1:] if "Fn::If" in statement else [statement]
                found += [(role, branch) for branch in branches if isinstance(branch, dict) and "Effect" in branch]
    return found


def matches(arn: str, resource_type: str, service: str) -> bool:
    if arn == "*":
        return True
    formats = POLICIES[service]["Resources"].get(resource_type, {}).get("ARNFormats") or []
    for arn_format in formats:
        pattern = re.escape(arn_format).replace(r"\.\*", ".*")
        pattern = re.sub(r"\\\$\\\{[A-Za-z]+\\\}", "[^:/]*", pattern)
        if re.fullmatch(pattern, arn):
            return True
    return not formats  # a type without ARN formats in the data (e.g. codeconnections' Connection)


def authorized_types(action: str) -> list[str]:
    service, _, name = action.lower().partition(":")
    assert service in POLICIES and name in POLICIES[service]["Actions"], f"{action} is not an action AWS knows"
    return POLICIES[service]["Actions"][name]["Resources"]


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: path.name)
def test_every_statement_names_resources_its_actions_are_authorized_on(path: Path) -> None:
    template, errors = decode(str(path))
    assert not errors, errors
    problems = []
    granted: dict[tuple[str, str], list[str]] = defaultdict(list)
    for role, statement in statements(template):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        arns = [resolve(resource, template) for resource in resources]
        for action in actions:
            service = action.split(":")[0].lower()
            types = authorized_types(action)
            granted[(role, action.lower())] += arns
            for arn in arns:
                if arn == "*" and types:
                    problems.append(f"{role}: {action} on * although AWS scopes it to {', '.join(types)}")
                elif types and not any(matches(arn, kind, service) for kind in types):
                    problems.append(f"{role}: {action} on {arn}, which is none of {', '.join(types)}")
            if not types and arns != ["*"]:
                problems.append(f"{role}: {action} takes no resource type, so it needs Resource *")
    for (role, action), arns in granted.items():
        service = action.split(":")[0]
        for kind in ALL_OF.get(action, ()):
            assert kind in authorized_types(action), f"ALL_OF names {kind} for {action}, which AWS does not list"
            if not any(matches(arn, kind, service) for arn in arns):
                problems.append(
                    f"{role}: {action} is also authorized on the {kind} resource, and no statement grants it"
                )
    assert not problems, "\n".join(problems)


def test_the_check_catches_the_endpoint_config_the_endpoint_actions_need(tmp_path: Path) -> None:
    """The deploy-blocking defect: CreateEndpoint granted on the endpoints only."""
    template = (REPO_ROOT / "deploy/templates/deployment-pipeline.yml").read_text()
    start = template.index("              # AWS authorizes CreateEndpoint and UpdateEndpoint on the endpoint config")
    end = template.index("              - Effect: Allow", template.index("Condition:", start))
    path = tmp_path / "deployment-pipeline.yml"
    path.write_text(template[:start] + template[end:])
    with pytest.raises(AssertionError, match="sagemaker:createendpoint is also authorized on the endpoint-config"):
        test_every_statement_names_resources_its_actions_are_authorized_on(path)
