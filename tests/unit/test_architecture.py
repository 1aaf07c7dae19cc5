"""The layering rules of docs/ARCHITECTURE.md, enforced: a pure core by capability, adapters at the edge,
thin handlers."""

from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "shared" / "ocp"
AWS_SDKS = ("boto3", "botocore", "aws_lambda_powertools", "moto")
CAPABILITIES = ("order", "inventory", "decisions", "operations", "fulfillment", "returns", "access")
DOMAIN_PRIMITIVES = {"__init__.py", "clock.py", "errors.py", "problems.py"}


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


def _id(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


def _reads_environment(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"
               and node.attr in ("environ", "getenv") for node in ast.walk(tree))


@pytest.mark.parametrize("path", _modules(PACKAGE / "domain"), ids=_id)
def test_domain_imports_no_sdk_and_no_outer_layer(path: Path) -> None:
    imported = _imports(path)
    assert not {n for n in imported if n.split(".")[0] in AWS_SDKS}, f"{path} imports an AWS SDK"
    assert not {n for n in imported if n.startswith(("ocp.adapters", "ocp.services", "ocp.composition",
                                                      "ocp.api", "functions", "infra"))}


@pytest.mark.parametrize("path", _modules(PACKAGE / "channels") + _modules(PACKAGE / "services"),
                         ids=_id)
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


def test_the_domain_is_one_subpackage_per_capability_beside_its_shared_primitives() -> None:
    domain = PACKAGE / "domain"
    loose = {p.name for p in domain.glob("*.py")} - DOMAIN_PRIMITIVES
    assert loose == set(), f"modules outside a capability subpackage: {sorted(loose)}"
    for capability in CAPABILITIES:
        assert (domain / capability / "__init__.py").is_file(), capability
        assert (domain / capability / "README.md").is_file(), f"{capability} says what it holds"


@pytest.mark.parametrize("layer", ["services", "adapters"])
def test_services_and_adapters_sit_in_subpackages(layer: str) -> None:
    loose = {p.name for p in (PACKAGE / layer).glob("*.py")} - {"__init__.py", "wms.py"}
    assert loose == set(), f"{layer} modules outside a subpackage: {sorted(loose)}"


def test_only_the_adapters_and_composition_import_the_aws_sdk() -> None:
    offenders = [_id(p) for p in _modules(PACKAGE)
                 if p.relative_to(PACKAGE).parts[0] not in ("adapters", "composition.py")
                 and {n for n in _imports(p) if n.split(".")[0] in ("boto3", "botocore")}]
    assert offenders == []


def test_settings_is_the_one_reader_of_the_environment() -> None:
    readers = {p.relative_to(PACKAGE).parts[0] for p in _modules(PACKAGE) if _reads_environment(p)}
    assert readers == {"settings"}


@pytest.mark.parametrize("path", [p for p in _modules(PACKAGE) if p.name == "__init__.py"
                                  and p.parent.name not in ("rules", "anomalies", "settings")], ids=_id)
def test_package_inits_import_nothing_so_cold_starts_load_only_what_a_function_uses(path: Path) -> None:
    assert _imports(path) == set()


def test_a_function_creates_only_the_settings_models_it_imports() -> None:
    """`composition` imports each settings model in the builder that loads it, and `ocp.settings` imports a name's
    module on its first use: a handler importing one model creates that module's models and the base's only."""
    probe = ("import json, sys\nimport ocp.composition\nfrom ocp.settings import AuthorizerSettings, load\n"
             "print(json.dumps(sorted(m for m in sys.modules if m.startswith('ocp.settings'))))")
    result = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "PYTHONPATH": str(ROOT / "shared")},
                            capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == ["ocp.settings", "ocp.settings.access", "ocp.settings.base"]


def test_the_settings_package_resolves_every_name_from_its_module() -> None:
    """`ocp.settings` finds a name's module in a table at run time, the type checker in its imports: both list every
    class and function of the package's modules, each where it is defined."""
    from ocp import settings

    tree = ast.parse((PACKAGE / "settings" / "__init__.py").read_text(encoding="utf-8"))
    typed = {alias.name: node.module.removeprefix("ocp.settings.") for node in ast.walk(tree)
             if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ocp.settings.")
             for alias in node.names}
    defined = {name: path.stem for path in (PACKAGE / "settings").glob("*.py") if path.stem != "__init__"
               for name, value in vars(import_module(f"ocp.settings.{path.stem}")).items()
               if (inspect.isclass(value) or inspect.isfunction(value)) and not name.startswith("__")
               and value.__module__ == f"ocp.settings.{path.stem}"}
    assert typed == defined == settings._HOME
    for name, module in defined.items():
        assert getattr(settings, name) is getattr(import_module(f"ocp.settings.{module}"), name)
