"""Cold start per handler as deployed: import + module init of each function's handler in a fresh process.

    .venv/bin/python -m benchmarks.cold_start [--runs 7] [--function ID ...] [--budget-ms 250] [--json PATH]
                                              [--baseline REV | --before SOURCE_TREE] [--check]

What it times: from the first line of the handler's module import to `lambda_handler` being importable, i.e.
everything the module runs at import (our code, Powertools' Logger/Tracer/Metrics, pydantic models built at import,
the X-Ray SDK's boto3 patching). What it does not time: the interpreter's own start, the Lambda runtime's init
(its bootstrap, fetching the asset), the first invocation, and anything on the network (no client is created).

How the process is set up, so it matches AWS:
- `sys.path` holds only the function's asset (`/var/task`), the layers (`/opt/python`: the `ocp` layer exactly as
  `infra.build` stages it, and a stand-in for AWS's Powertools v3 layer) and the runtime's boto3 (`/var/runtime`);
  the interpreter runs with `-S -B`, so the venv's site-packages are out of reach and nothing writes bytecode.
  The assets carry bytecode compiled by `infra.build` for Lambda's Python 3.12 (unchecked-hash `.pyc`, so the
  read-only `/var/task` and `/opt` never compile at a cold start); this interpreter's version may differ, so the
  staged files are also compiled the same way for it, beside the 3.12 bytecode, and it loads its own. The
  third-party stand-ins are symlinks to the installed packages, which carry their compiled bytecode (AWS's
  layer and runtime do too).
- the environment: the function's variables from `infra.wiring` (a `Ref` becomes a placeholder name, URL or ARN),
  what Lambda sets (`AWS_LAMBDA_FUNCTION_NAME`, `AWS_REGION`, credentials, `LAMBDA_TASK_ROOT`, the X-Ray daemon
  address, `AWS_LAMBDA_LOG_FORMAT=JSON`) and no `POWERTOOLS_TRACE_DISABLED`: the Tracer is on, as with active
  tracing, so it imports the X-Ray SDK and patches boto3 at import, as in AWS.

The baseline in the same table: the Powertools anchor, an empty handler with Logger, Tracer and Metrics and
nothing else (the least any instrumented handler can cost). Local Python is not Lambda's 3.12 on arm64, so the
absolute numbers are this machine's; the rows are comparable with each other and with the anchor.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.revisions import revision_tree
from infra import build, wiring

BUDGET_MS = 250.0
ANCHOR = "powertools_anchor"
"""The row of the empty instrumented handler."""

RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six")
"""What the Lambda Python runtime ships (`/var/runtime`)."""
POWERTOOLS_LAYER_DISTRIBUTIONS = (
    "aws-lambda-powertools", "pydantic", "pydantic-core", "typing-extensions", "typing-inspection",
    "annotated-types", "aws-xray-sdk", "wrapt", "fastjsonschema",
)
"""What AWS's Powertools v3 layer bundles that a handler may import (its extras: parser, tracer, validation)."""

_REGION = "us-east-1"
_ACCOUNT = "123456789012"

_ANCHOR_SOURCE = '''\
from aws_lambda_powertools import Logger, Metrics, Tracer

logger, tracer, metrics = Logger(service="anchor"), Tracer(service="anchor"), Metrics(namespace="OCP")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return {}
'''

RUNTIME_PRELOADED = ("importlib", "json", "logging", "os", "time", "traceback", "decimal", "math", "enum",
                     "concurrent.futures.thread")
"""Standard-library modules Lambda's Python runtime has imported before it imports the handler: its bootstrap
(`awslambdaric`'s `bootstrap`, `lambda_runtime_client`, `lambda_runtime_marshaller`, `lambda_runtime_log_utils`,
`lambda_context`) imports these at its own start, so the handler's import finds them loaded; the runtime client
imports `ThreadPoolExecutor`, with which the python3.12 runtime waits for the next invocation. (It also loads
`simplejson` and its C client, which no handler uses, so they are left out here.)"""

_PROBE = '''\
import importlib, json, sys, time
for preloaded in PRELOADED:
    importlib.import_module(preloaded)
module_name, attribute = sys.argv[1], sys.argv[2]
start, cpu_start = time.perf_counter(), time.process_time()
module = importlib.import_module(module_name)
getattr(module, attribute)
elapsed_ms, cpu_ms = (time.perf_counter() - start) * 1000, (time.process_time() - cpu_start) * 1000

# What import left for later: our models whose validators build on first use (defer_build). Building them all now
# is an upper bound of what the first invocations pay on top of the import (each uses only some of them).
from pydantic import BaseModel
def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)
deferred = [c for c in set(subclasses(BaseModel))
            if c.__module__.startswith(("ocp.", "functions.")) and not c.__pydantic_complete__]
build_start = time.perf_counter()
for model in deferred:
    model.model_rebuild()
deferred_ms = (time.perf_counter() - build_start) * 1000
print(json.dumps({"ms": elapsed_ms, "cpu_ms": cpu_ms, "deferred": len(deferred), "deferred_ms": deferred_ms,
                  "modules": sorted(sys.modules)}))
'''


@dataclass(frozen=True)
class Deployment:
    """Directories standing in for `/var/task` (per function), `/opt/python` and `/var/runtime`."""

    functions: Mapping[str, Path]
    layers: tuple[Path, ...]
    runtime: Path


@dataclass(frozen=True)
class Row:
    function: str
    runs: list[float]
    """Wall-clock milliseconds per run."""
    cpu: list[float]
    """CPU milliseconds of the same runs: steadier than wall time on a shared machine."""
    deferred_models: int = 0
    """OCP models the import defined but left unbuilt (built on first use)."""
    deferred: list[float] = field(default_factory=list)
    """Milliseconds to build all of them, per run: the most the first invocations add for models."""
    error: str | None = None

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs)

    @property
    def worst_ms(self) -> float:
        return max(self.runs)

    @property
    def cpu_median_ms(self) -> float:
        return statistics.median(self.cpu)

    @property
    def deferred_median_ms(self) -> float:
        return statistics.median(self.deferred) if self.deferred else 0.0


def placeholder(ref: wiring.Ref) -> str:
    """A `Ref` as CDK would resolve it, with a made-up account: a name, an SQS URL or an ARN."""
    name = f"ocp-{ref.resource}"
    if ref.attribute == "url":
        return f"https://sqs.{_REGION}.amazonaws.com/{_ACCOUNT}/{name}"
    if ref.attribute == "arn":
        return f"arn:aws:lambda-placeholder:{_REGION}:{_ACCOUNT}:{name}"
    return name


def lambda_environment(spec: wiring.Function, handler: str | None = None) -> dict[str, str]:
    """What a deployed function's process sees: its wiring env plus what Lambda sets; tracing left on."""
    env = {name: placeholder(value) if isinstance(value, wiring.Ref) else value for name, value in spec.env.items()}
    env.update({
        "AWS_LAMBDA_FUNCTION_NAME": f"ocp-{spec.id}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_REGION": _REGION,
        "AWS_DEFAULT_REGION": _REGION,
        "AWS_ACCESS_KEY_ID": "ASIAPLACEHOLDER",
        "AWS_SECRET_ACCESS_KEY": "placeholder",
        "AWS_SESSION_TOKEN": "placeholder",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "LAMBDA_TASK_ROOT": "/var/task",
        "_HANDLER": handler or spec.handler,
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    })
    return env


def _link_distributions(names: Iterable[str], target: Path) -> None:
    """Symlink each installed distribution's top-level packages, modules and metadata into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        tops = {Path(str(f)).parts[0] for f in distribution.files or [] if not str(f).startswith("..")}
        for top in tops - {"__pycache__", "bin"}:
            source = Path(str(distribution.locate_file(top)))
            link = target / top
            if source.exists() and not link.exists():
                link.symlink_to(source)
            # A single-file module's bytecode sits in its own directory's __pycache__, not beside the symlink.
            cache = source.parent / "__pycache__"
            if source.is_file() and cache.is_dir() and not (target / "__pycache__").exists():
                (target / "__pycache__").symlink_to(cache)


def prepare(workdir: Path, root: Path = build.REPO_ROOT, specs: Sequence[wiring.Function] = wiring.FUNCTIONS
            ) -> Deployment:
    """Stage the assets with `infra.build` (as CDK ships them) and the third-party stand-ins beside them.

    `root` is the source tree to stage: another checkout (e.g. `git archive HEAD`) gives a before/after in one run.
    A tree whose own build did not yet ship bytecode is staged without it, as it was deployed.
    """
    shipped_bytecode = "compile_bytecode" in (root / "infra" / "build.py").read_text()
    staged = build.stage(root=root, build_dir=workdir / "build", functions=specs, bytecode=shipped_bytecode)
    if shipped_bytecode:
        build.compile_bytecode(sys.executable, build.deployed_paths(staged.functions.values(), staged.layer))
    _link_distributions(POWERTOOLS_LAYER_DISTRIBUTIONS, workdir / "powertools-layer" / "python")
    _link_distributions(RUNTIME_DISTRIBUTIONS, workdir / "runtime")
    anchor = workdir / "anchor" / "anchor_handler.py"
    anchor.parent.mkdir(parents=True)
    anchor.write_text(_ANCHOR_SOURCE)
    return Deployment(
        functions={**staged.functions, ANCHOR: anchor.parent},
        layers=(staged.layer / "python", workdir / "powertools-layer" / "python"),
        runtime=workdir / "runtime",
    )


def import_once(deployment: Deployment, function_id: str, module: str, env: Mapping[str, str]) -> dict[str, Any]:
    """Import `module` in a fresh interpreter that sees only the deployment's directories."""
    path = [str(deployment.functions[function_id]), *map(str, deployment.layers), str(deployment.runtime)]
    probe = f"import sys; sys.path[:0] = {path!r}\nPRELOADED = {RUNTIME_PRELOADED!r}\n{_PROBE}"
    result = subprocess.run(
        [sys.executable, "-S", "-B", "-c", probe, module, "lambda_handler"],
        env=dict(env), capture_output=True, text=True, check=False, cwd=tempfile.gettempdir(),
    )
    if result.returncode != 0:
        raise RuntimeError(f"{function_id}: importing {module} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _anchor_spec() -> wiring.Function:
    return wiring.Function(id=ANCHOR, handler="anchor_handler.lambda_handler", description="empty handler",
                           env={"POWERTOOLS_METRICS_NAMESPACE": "OCP"})


def measure(deployments: Sequence[Deployment], specs: Sequence[wiring.Function], runs: int) -> list[list[Row]]:
    """Rows per deployment. Runs go round-robin: each round imports every handler once (and, with several
    deployments, before and after in turn), so a stretch when the machine is busy adds one slow run to many handlers
    rather than making one handler's runs all slow."""
    every = [_anchor_spec(), *specs]
    envs = {spec.id: lambda_environment(spec) for spec in every}
    results: dict[tuple[int, str], list[dict[str, Any]]] = {
        (i, spec.id): [] for i in range(len(deployments)) for spec in every}
    errors: dict[tuple[int, str], str] = {}
    for attempt in range(runs + 1):  # the first round warms the OS file cache and is not counted
        for spec in every:
            # before and after take turns going first, so neither always finds the other's files cached
            turns = list(enumerate(deployments))
            for i, deployment in turns if attempt % 2 else reversed(turns):
                if (i, spec.id) in errors:
                    continue
                try:
                    result = import_once(deployment, spec.id, spec.module, envs[spec.id])
                except RuntimeError as error:
                    errors[(i, spec.id)] = str(error).splitlines()[-1]
                    continue
                if attempt:
                    results[(i, spec.id)].append(result)
        print(f"  round {attempt}/{runs} done", file=sys.stderr, flush=True)
    rows: list[list[Row]] = [[] for _ in deployments]
    for spec in every:
        for i in range(len(deployments)):
            found = results[(i, spec.id)]
            rows[i].append(Row(spec.id, [float(r["ms"]) for r in found], [float(r["cpu_ms"]) for r in found],
                               deferred_models=int(found[0]["deferred"]) if found else 0,
                               deferred=[float(r["deferred_ms"]) for r in found], error=errors.get((i, spec.id))))
    return rows


def table(rows: Sequence[Row], budget_ms: float, before: Mapping[str, Row] | None = None) -> str:
    """Markdown: median and worst wall time per handler against the anchor and the budget (and a `before`), with
    what the import left for the first invocations (models whose build is deferred to first use)."""
    anchor = next((r for r in rows if r.function == ANCHOR and not r.error), None)
    header = ("| function | median ms | worst ms | CPU median ms | over the anchor ms | deferred models "
              "| building them ms | under budget |")
    if before is not None:
        header = "| function | before median ms | before worst ms " + header[len("| function "):]
    lines = [header, "|---" + "|---:" * (header.count("|") - 3) + "|:---:|"]
    for row in rows:
        previous = ""
        if before is not None:
            old = before.get(row.function)
            previous = f"{old.median_ms:.0f} | {old.worst_ms:.0f} | " if old and not old.error else "- | - | "
        if row.error:
            lines.append(f"| {row.function} | {previous}import failed: {row.error} | | | | | | **NO** |")
            continue
        over = "baseline" if row is anchor else f"{row.median_ms - anchor.median_ms:+.0f}" if anchor else "-"
        ok = "-" if row is anchor else ("yes" if row.median_ms < budget_ms else "**NO**")
        lines.append(f"| {row.function} | {previous}{row.median_ms:.0f} | {row.worst_ms:.0f} | "
                     f"{row.cpu_median_ms:.0f} | {over} | {row.deferred_models} | {row.deferred_median_ms:.0f} | "
                     f"{ok} |")
    handlers = [r for r in rows if r.function != ANCHOR and not r.error]
    if handlers:
        worst = max(handlers, key=lambda r: r.worst_ms)
        lines += ["", f"handlers: median of medians {statistics.median(r.median_ms for r in handlers):.0f} ms, "
                      f"worst run {worst.worst_ms:.0f} ms ({worst.function}); budget {budget_ms:.0f} ms for each "
                      f"handler's median (one run on a shared machine can be preempted; the worst run is shown). "
                      f"Timed: import + module init of the handler module in a fresh process with the modules "
                      f"Lambda's runtime preloads (not the interpreter's start, the runtime's init, the first "
                      f"invocation or network). `building them`: all deferred models built at once after the import, "
                      f"the most the first invocations add (each builds only the models it uses)."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cold_start", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed imports per function (after one warm-up)")
    parser.add_argument("--function", action="append", default=[], help="only these function ids (repeatable)")
    parser.add_argument("--budget-ms", type=float, default=BUDGET_MS)
    baseline = parser.add_mutually_exclusive_group()
    baseline.add_argument("--baseline", default=None, help="also measure this git revision as `before` (e.g. da333af)")
    baseline.add_argument("--before", type=Path, default=None,
                          help="also measure this source tree (e.g. `git archive HEAD | tar -x -C DIR`) as `before`")
    parser.add_argument("--json", type=Path, default=None, help="also write the runs as JSON here")
    parser.add_argument("--check", action="store_true", help="exit 1 if a handler failed or its median was over budget")
    args = parser.parse_args(argv)
    specs = [s for s in wiring.FUNCTIONS if not args.function or s.id in args.function]
    print(f"cold start: import + module init per handler, {args.runs} fresh processes each, "
          f"asset + layers only, tracing on", file=sys.stderr)
    before: dict[str, Row] | None = None
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ocp-cold-start-")))
        deployments = [prepare(workdir / "after", build.REPO_ROOT, specs)]
        before_tree = stack.enter_context(revision_tree(args.baseline)) if args.baseline else args.before
        if before_tree is not None:
            print(f"before: {args.baseline or before_tree} (runs alternate with this tree's)", file=sys.stderr)
            deployments.append(prepare(workdir / "before", before_tree.resolve(), specs))
        measured = measure(deployments, specs, args.runs)
    rows = measured[0]
    if len(measured) > 1:
        before = {r.function: r for r in measured[1]}
    print(table(rows, args.budget_ms, before))
    if args.json:
        report = {"after": [asdict(r) for r in rows], "before": [asdict(r) for r in (before or {}).values()]}
        args.json.write_text(json.dumps(report, indent=2))
    handlers = [r for r in rows if r.function != ANCHOR]
    over = not all(not r.error and r.median_ms < args.budget_ms for r in handlers)
    return 1 if args.check and over else 0


if __name__ == "__main__":
    raise SystemExit(main())
