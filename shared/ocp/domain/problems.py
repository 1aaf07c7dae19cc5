"""A validation problem with where it is: what a 400 lists, one entry per problem, never just the first."""

from collections.abc import Iterable, Sequence

from pydantic import ConfigDict, ValidationError

from ocp.base_model import OcpModel

_TAG_PREFIX = "§"
"""Tags of callable-discriminated unions appear in pydantic's `loc`; theirs start with this and are dropped."""


class Problem(OcpModel):
    model_config = ConfigDict(frozen=True)

    path: str
    """Where in the document, e.g. `rules[1].when.all[0].gte` ('' for the document itself)."""
    problem: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "problem": self.problem}


def location(parts: Iterable[str | int]) -> str:
    """`("rules", 1, "when", "field")` → `rules[1].when.field`."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not part.startswith(_TAG_PREFIX):
            text += f".{part}" if text else part
    return text


def problems_from(error: ValidationError, prefix: Sequence[str | int] = ()) -> list[Problem]:
    found: list[Problem] = []
    for entry in error.errors(include_url=False):
        message = entry["msg"].removeprefix("Value error, ")
        if entry["type"] == "extra_forbidden":
            message = "unknown key (not in the schema)"
        found.append(Problem(path=location([*prefix, *entry["loc"]]), problem=message))
    return found
