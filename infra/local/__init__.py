"""The embedded local runtime: OCP on one machine with moto standing in for AWS (`ocp local`).

Everything it creates comes from `infra/wiring.py`; see `runtime.LocalPlatform` for the entry point.
"""

from infra.local.runtime import LocalPlatform

__all__ = ["LocalPlatform"]
