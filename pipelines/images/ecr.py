"""Amazon ECR for the image build: recognise an ECR registry, log docker in, create missing repositories.

Only boto3 is used (no AWS CLI), so `AWS_ENDPOINT_URL` points all of it at moto in the tests.
"""

import base64
import binascii
import re
from typing import Any

import boto3
from pydantic import BaseModel, ConfigDict

ECR_HOST = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?:\.cn)?$"
)


class EcrError(RuntimeError):
    """ECR refused a call or answered something unusable; the message says which call and what to check."""


class EcrRegistry(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str
    account: str
    region: str

    @classmethod
    def parse(cls, registry: str) -> "EcrRegistry | None":
        """`<account>.dkr.ecr.<region>.amazonaws.com` → its parts; any other registry → None."""
        match = ECR_HOST.fullmatch(registry)
        return cls(host=registry, **match.groupdict()) if match else None

    def client(self) -> Any:
        return boto3.client("ecr", region_name=self.region)


def login_credentials(registry: EcrRegistry, client: Any) -> tuple[str, str]:
    """The user name and password `docker login` takes, from `GetAuthorizationToken` (valid for 12 hours)."""
    try:
        data = client.get_authorization_token(registryIds=[registry.account])["authorizationData"]
    except client.exceptions.ClientError as exc:
        raise EcrError(
            f"ECR GetAuthorizationToken for account {registry.account} in {registry.region} failed: {exc}; check the"
            " AWS credentials and that they allow ecr:GetAuthorizationToken"
        ) from exc
    if not data:
        raise EcrError(f"ECR returned no authorization data for account {registry.account}")
    try:
        username, separator, password = (
            base64.b64decode(data[0]["authorizationToken"], validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise EcrError("ECR's authorization token is not base64 'user:password'") from exc
    if not separator or not username or not password:
        raise EcrError("ECR's authorization token is not 'user:password'")
    return username, password


def ensure_repositories(registry: EcrRegistry, client: Any, names: list[str]) -> list[str]:
    """Create each repository that does not exist yet, with scan on push; return the names created."""
    created = []
    for name in names:
        try:
            client.describe_repositories(registryId=registry.account, repositoryNames=[name])
            continue
        except client.exceptions.RepositoryNotFoundException:
            pass
        except client.exceptions.ClientError as exc:
            raise EcrError(f"ECR DescribeRepositories for '{name}' failed: {exc}") from exc
        try:
            client.create_repository(
                registryId=registry.account,
                repositoryName=name,
                imageScanningConfiguration={"scanOnPush": True},
                imageTagMutability="MUTABLE",
            )
        except client.exceptions.ClientError as exc:
            raise EcrError(
                f"ECR CreateRepository '{name}' failed: {exc}; check that the credentials allow ecr:CreateRepository"
                " or create it once by hand with scan on push"
            ) from exc
        created.append(name)
    return created
