"""The route → scopes map and the IAM resources it gives a principal.

API Gateway evaluates the authorizer's policy against the method ARN `<api>/<stage>/<METHOD>/<path>`; IAM's `*`
matches any run of characters (also `/`) and `?` one. The local runtime matches with the same rule, so the two
enforce the same answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ocp.domain.access.principals import meets

PATH_VARIABLE = re.compile(r"\{[^}]+\}")


@dataclass(frozen=True)
class RouteRule:
    method: str
    resource: str
    """The API Gateway resource path, e.g. `/orders/{order_id}`."""
    scopes: tuple[str, ...]

    @property
    def arn_path(self) -> str:
        """`PUT/rules/*`: the method ARN suffix any request to this route has."""
        return f"{self.method}/{PATH_VARIABLE.sub('*', self.resource).lstrip('/')}"


def parse_route_scopes(text: str) -> tuple[RouteRule, ...]:
    """`GET /orders=read,operator;PUT /rules/{kind}=operator` (`infra.wiring.route_scopes_env`)."""
    rules = []
    for entry in filter(None, text.split(";")):
        route, _, scopes = entry.partition("=")
        method, _, resource = route.strip().partition(" ")
        rules.append(RouteRule(method, resource, tuple(filter(None, scopes.split(",")))))
    return tuple(rules)


def reachable(rules: Iterable[RouteRule], scopes: Iterable[str]) -> list[RouteRule]:
    held = list(scopes)
    return [rule for rule in rules if meets(held, rule.scopes)]


def rule_for(rules: Iterable[RouteRule], method: str, resource: str) -> RouteRule | None:
    return next((r for r in rules if r.method == method and r.resource == resource), None)


def iam_matches(pattern: str, value: str) -> bool:
    """IAM resource matching: `*` any characters, `?` exactly one, the rest literal."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def policy_allows(statements: Iterable[dict[str, object]], method_arn: str) -> bool:
    """An IAM policy document's statements, evaluated as API Gateway does: an explicit Deny wins, else an Allow
    is needed."""
    allowed = False
    for statement in statements:
        resources = statement.get("Resource", [])
        listed = [resources] if isinstance(resources, str) else list(resources)  # type: ignore[call-overload]
        if not any(iam_matches(str(r), method_arn) for r in listed):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed
