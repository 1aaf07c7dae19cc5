"""The embedded local runtime: OCP on one machine with moto standing in for AWS (`ocp local`).

Everything it creates comes from `infra/wiring.py`; see `runtime.LocalPlatform` for the entry point.
`LocalPlatform` is imported lazily, so `ocp normalize` and `ocp demo` do not load moto.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.local.runtime import LocalPlatform

__all__ = ["LocalPlatform"]


def __getattr__(name: str) -> Any:
    if name == "LocalPlatform":
        from infra.local.runtime import LocalPlatform

        return LocalPlatform
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
