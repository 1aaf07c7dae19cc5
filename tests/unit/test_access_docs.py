"""docs/API.md's route → scopes table is the wiring's `Route.scopes`, route for route."""

from __future__ import annotations

import re
from pathlib import Path

from infra import wiring

API_MD = Path(__file__).resolve().parents[2] / "docs" / "API.md"


def test_the_documented_scope_of_every_route_is_the_wired_one() -> None:
    section = API_MD.read_text(encoding="utf-8").split("## Principals and scopes", 1)[1]
    section = section.split("| route | scopes (any one) |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `([A-Z]+ /[^`]*)` \| ([^|]+) \|$", section, flags=re.MULTILINE)
    documented = {route: tuple(re.findall(r"`([a-z]+)`", scopes)) for route, scopes in rows}
    assert documented == {f"{r.method} {r.path}": r.scopes for r in wiring.ROUTES}
