"""The base of OCP's pydantic models: each builds its validator and serializer on first use, not at import.

A handler imports far more models than one invocation touches (a page of the API, a branch of the order path);
building all of them at import was most of a cold start's own time. A model the function uses is built on its
first validation or dump, once per process; a model it never uses is never built.

The modules that are mostly models (the domain's, the API's, settings, the channels' base) evaluate their
annotations when the class is created (no `from __future__ import annotations`; forward references and type-only
names are quoted): with postponed annotations pydantic compiles and evaluates each field's annotation from its text,
about a quarter of such a module's import.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class OcpModel(BaseModel):
    model_config = ConfigDict(defer_build=True)


class FrozenModel(OcpModel):
    """Immutable, and unknown fields are refused: the base of most domain values, requests and documents."""

    model_config = ConfigDict(extra="forbid", frozen=True)
