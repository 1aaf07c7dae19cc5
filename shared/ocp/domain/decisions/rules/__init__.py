"""The rule language (API.md "Rule documents (v1)"): documents validated on write, compiled into closures,
evaluated per order without a database read, and explained on request. Pure: no boto3, no powertools."""

from ocp.domain.decisions.rules.engine import (
    CompiledRule,
    RuleSet,
    compile_document,
    compile_validated,
    default_ruleset,
    json_schema,
    validate_document,
)
from ocp.domain.decisions.rules.errors import (
    InvalidRuleDocument,
    RulesVersionConflict,
    RuleVersionNotFound,
    UnknownRuleKind,
)
from ocp.domain.decisions.rules.kinds import KINDS, RuleKind, spec_for
from ocp.domain.decisions.rules.paths import Facts

__all__ = [
    "KINDS",
    "CompiledRule",
    "Facts",
    "InvalidRuleDocument",
    "RuleKind",
    "RuleSet",
    "RuleVersionNotFound",
    "RulesVersionConflict",
    "UnknownRuleKind",
    "compile_document",
    "compile_validated",
    "default_ruleset",
    "json_schema",
    "spec_for",
    "validate_document",
]
