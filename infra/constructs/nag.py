"""cdk-nag acknowledgements: every suppression names one rule and says why, next to what it is about."""

from __future__ import annotations

from collections.abc import Sequence

from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import IConstruct

MIN_REASON_CHARS = 40
"""cdk-nag itself accepts any reason of 10+ characters; ours must say something specific."""


def acknowledge(
    construct: IConstruct,
    rule: str,
    reason: str,
    *,
    applies_to: Sequence[str] = (),
    children: bool = True,
) -> None:
    """Suppress the AwsSolutions `rule` (e.g. "IAM5") on `construct` and, by default, its children.

    `applies_to` narrows a suppression to specific findings (e.g. `Resource::*`) so any new wildcard
    still fails the nag check.
    """
    if len(" ".join(reason.split())) < MIN_REASON_CHARS:
        raise ValueError(f"cdk-nag suppression of {rule} needs a specific reason, got {reason!r}")
    NagSuppressions.add_resource_suppressions(
        construct,
        [NagPackSuppression(id=f"AwsSolutions-{rule}", reason=reason, applies_to=list(applies_to) or None)],
        apply_to_children=children,
    )
