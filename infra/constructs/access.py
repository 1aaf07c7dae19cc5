"""The deployed bootstrap principal: its generated key (a Secrets Manager secret) and its throttle bucket.

The secret is `wiring.BOOTSTRAP_KEY`, JSON `{"api_key", "principal", "usage_key"}`: CloudFormation generates
`api_key` once, at creation, and never again while the template stays the same. `usage_key` is the value of the API
Gateway API key the authorizer returns as `usageIdentifierKey` for this principal. The REST API takes API keys from
the authorizer only (`apiKeySource=AUTHORIZER`), so that value is a throttle bucket, never accepted from a caller:
it is derived from the stack name rather than generated, so that the secret and the API key agree without a custom
resource.
"""

from __future__ import annotations

import json

from aws_cdk import Aws
from aws_cdk import aws_secretsmanager as secretsmanager

from infra import wiring

BOOTSTRAP_PRINCIPAL = "admin"
"""The contract's name for the bootstrap key's principal in AWS (locally `local`)."""
API_KEY_LENGTH = 48


def bootstrap_usage_key() -> str:
    """The bootstrap principal's throttle bucket: at least 20 characters, as API Gateway requires of a key value."""
    return f"{Aws.STACK_NAME}-bootstrap-admin-usage"


def generated_secret(spec: wiring.Secret) -> secretsmanager.SecretStringGenerator | None:
    """How CloudFormation generates `spec`'s value, or None for a secret whose values are put by people."""
    if spec.id != wiring.BOOTSTRAP_KEY.id:
        return None
    return secretsmanager.SecretStringGenerator(
        secret_string_template=json.dumps({"principal": BOOTSTRAP_PRINCIPAL, "usage_key": bootstrap_usage_key()}),
        generate_string_key="api_key",
        password_length=API_KEY_LENGTH,
        # Header-safe: letters and digits only.
        exclude_punctuation=True,
        include_space=False,
    )
