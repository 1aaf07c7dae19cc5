"""CDK entry point: `python -m infra.app` (cdk.json runs it as `.venv/bin/python -m infra.app`).

Stages the Lambda assets (infra.build), builds one OcpStack for the stage given as context
(`cdk synth -c stage=prod`, default "dev") and checks it with cdk-nag's AWS Solutions pack. Synth is
environment-agnostic: no STS, no git, no network; account and region resolve at deploy time.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

# The machines run Node 20, which jsii reports as end-of-life in a banner on every start. Known; moving
# to Node 22+ is the fix. Until then keep synth output readable.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, Aspects  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.build import BUILD_DIR, REPO_ROOT  # noqa: E402
from infra.build import stage as stage_assets  # noqa: E402
from infra.stack import OcpStack  # noqa: E402

DEFAULT_STAGE = "dev"
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")


def cdk_json_context(path: Path = REPO_ROOT / "cdk.json") -> dict[str, Any]:
    """The feature flags in cdk.json. The CLI passes them to `App()`; tests pass them explicitly."""
    context: dict[str, Any] = json.loads(path.read_text())["context"]
    return context


def stage_name(app: App) -> str:
    name = str(app.node.try_get_context("stage") or DEFAULT_STAGE)
    if not _STAGE_NAME.match(name):
        raise ValueError(f"stage {name!r} must match {_STAGE_NAME.pattern} (it names the stack and API stage)")
    return name


def build(app: App, *, build_dir: Path = BUILD_DIR) -> OcpStack:
    """The stack for the app's stage, from assets already staged in `build_dir`."""
    name = stage_name(app)
    return OcpStack(
        app,
        f"Ocp-{name}",
        stage=name,
        build_dir=build_dir,
        description=f"OCP order control platform ({name})",
    )


def main() -> None:
    stage_assets()
    app = App()
    build(app)
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    app.synth()


if __name__ == "__main__":
    main()
