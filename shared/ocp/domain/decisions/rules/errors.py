"""What the rules language and store report; `ocp.api.errors` maps each to one HTTP status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocp.domain.errors import DomainError

if TYPE_CHECKING:
    from ocp.domain.problems import Problem


class InvalidRuleDocument(DomainError):
    """A document that does not validate; `details` lists every problem with where it is (400)."""

    code = "invalid_rule_document"

    def __init__(self, kind: str, problems: list[Problem]) -> None:
        super().__init__(
            f"the {kind} document is not valid ({len(problems)} problem{'s' if len(problems) != 1 else ''}); "
            "the stored version is unchanged",
            details=[p.as_dict() for p in problems],
        )
        self.problems = problems


class UnknownRuleKind(DomainError):
    code = "unknown_rule_kind"


class RuleVersionNotFound(DomainError):
    code = "rule_version_not_found"


class RulesVersionConflict(DomainError):
    """Another document was stored since the version this write was based on (409: re-read and retry)."""

    code = "rules_version_conflict"


class InvalidSimulation(DomainError):
    """The order of a dry run is not a valid unified order; `details` lists every problem (400)."""

    code = "invalid_simulation"
