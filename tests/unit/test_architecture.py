"""The layering rules of STYLE.md, enforced: a pure core, adapters at the edge, thin handlers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "shared" / "ocp"
AWS_SDKS = ("boto3", "botocore", "aws_lambda_powertools", "moto")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", _modules(PACKAGE / "domain"), ids=lambda p: p.name)
def test_domain_imports_no_sdk_and_no_outer_layer(path: Path) -> None:
    imported = _imports(path)
    assert not {n for n in imported if n.split(".")[0] in AWS_SDKS}, f"{path} imports an AWS SDK"
    assert not {n for n in imported if n.startswith(("ocp.adapters", "ocp.services", "ocp.composition",
                                                      "ocp.api", "functions", "infra"))}


@pytest.mark.parametrize("path", _modules(PACKAGE / "channels") + _modules(PACKAGE / "services"),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_channels_and_services_stay_off_the_aws_sdk(path: Path) -> None:
    imported = _imports(path)
    assert not {n for n in imported if n.split(".")[0] in AWS_SDKS}, f"{path} imports an AWS SDK"
    assert not {n for n in imported if n.startswith(("ocp.adapters", "ocp.composition", "functions", "infra"))}


@pytest.mark.parametrize("path", sorted((ROOT / "functions").glob("*/handler.py")), ids=lambda p: p.parent.name)
def test_handlers_reach_aws_only_through_composition(path: Path) -> None:
    imported = _imports(path)
    assert not {n for n in imported if n.split(".")[0] in ("boto3", "botocore")}, f"{path} builds its own clients"
    assert not {n for n in imported if n.startswith(("infra", "ocp.adapters"))}


def test_the_domain_package_never_imports_the_shell() -> None:
    offenders = [p for p in _modules(PACKAGE) if {n for n in _imports(p) if n.split(".")[0] in ("functions", "infra")}]
    assert offenders == []
