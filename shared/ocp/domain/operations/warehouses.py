"""Warehouses and suppliers (API.md `PUT /warehouses/{warehouse}` · `GET /warehouses`): what routing reads.

A warehouse is `own`, `bonded` (cross-border stock that has not cleared customs) or a `supplier` that drop-ships;
it has a region, a daily order cut-off in its time zone, and can be switched off (`active: false`) without losing
its history. It may name its WMS (`wms`: an HTTP push or an SQS queue, `ocp.domain.fulfillment.wms`), which the
dispatcher uses before the deployed WMS configuration. Warehouses listed in the deployed configuration
(`KNOWN_WAREHOUSES`) exist before anyone registers them: until they are, they count as active `own` warehouses.
Every problem with a body is reported at once.
"""

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator

from ocp.base_model import OcpModel
from ocp.domain.clock import known_zone
from ocp.domain.decisions.routing import WarehouseFacts, WarehouseKind
from ocp.domain.errors import DomainError
from ocp.domain.fulfillment.wms import WmsEndpoint
from ocp.domain.inventory.ids import WAREHOUSE_ID
from ocp.domain.problems import Problem, problems_from
from ocp.domain.returns.addresses import WarehouseReturnAddress

CUTOFF_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"


class WarehouseFields(OcpModel):
    """The body of `PUT /warehouses/{warehouse}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: WarehouseKind = Field(default=WarehouseKind.own, description="own | bonded | supplier (drop-ships)")
    name: str | None = Field(default=None, min_length=1, max_length=100)
    region: str | None = Field(default=None, min_length=1, max_length=64, description="e.g. 华南, or a province")
    cutoff: str | None = Field(
        default=None, pattern=CUTOFF_PATTERN, description="Daily order cut-off, HH:MM in `timezone`"
    )
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    active: bool = Field(default=True, description="An inactive warehouse is never routed to")
    return_address: WarehouseReturnAddress | None = Field(
        default=None, description="Where returned goods are sent: name, phone, province, city, district, detail, "
                                  "and each channel's registered id for it (channel_address_ids) where one is needed")
    wms: WmsEndpoint | None = Field(
        default=None,
        description="Where its WMS takes instructions: {type: http, url} (signed pushes) or {type: sqs, queue_url} "
                    "(a queue named ocp-wms-…); none: the deployed WMS configuration, if any",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)


class Warehouse(WarehouseFields):
    warehouse_id: str
    updated_at: str | None = None
    source: Literal["registry", "configuration"] = Field(
        default="registry",
        description="registry: stored with PUT /warehouses; configuration: only in KNOWN_WAREHOUSES so far",
    )

    def facts(self) -> WarehouseFacts:
        return WarehouseFacts(self.warehouse_id, self.kind, self.active)


class WarehouseList(OcpModel):
    warehouses: list[Warehouse]


class InvalidWarehouse(DomainError):
    """`details` lists every problem."""

    code = "invalid_warehouse"

    def __init__(self, warehouse_id: str, problems: list[Problem]) -> None:
        super().__init__(f"warehouse {warehouse_id!r} is not valid ({len(problems)} problems)",
                         details=[p.as_dict() for p in problems])


def parse_warehouse(warehouse_id: str, body: Any, updated_at: str) -> Warehouse:
    problems: list[Problem] = []
    if not WAREHOUSE_ID.match(warehouse_id):
        problems.append(Problem(path="warehouse", problem="1-64 letters, digits, '.', '_' or '-', starting with "
                                                          "a letter or digit"))
    if not isinstance(body, dict):
        raise InvalidWarehouse(warehouse_id, [*problems, Problem(path="", problem="a JSON object is required")])
    try:
        fields = WarehouseFields.model_validate(body)
    except ValidationError as exc:
        raise InvalidWarehouse(warehouse_id, problems + problems_from(exc)) from None
    if problems:
        raise InvalidWarehouse(warehouse_id, problems)
    return Warehouse(warehouse_id=warehouse_id, updated_at=updated_at, **fields.model_dump())


def seeded(warehouse_id: str) -> Warehouse:
    """A warehouse known from configuration only: an active own warehouse."""
    return Warehouse(warehouse_id=warehouse_id, source="configuration")


def directory(registered: Iterable[Warehouse], seed: Iterable[str]) -> dict[str, Warehouse]:
    """Every warehouse by id: the registered ones, and the configured ones nobody registered yet."""
    found = {w.warehouse_id: w for w in registered}
    for warehouse_id in seed:
        found.setdefault(warehouse_id, seeded(warehouse_id))
    return dict(sorted(found.items()))


def routing_facts(warehouses: Mapping[str, Warehouse]) -> dict[str, WarehouseFacts]:
    return {warehouse_id: w.facts() for warehouse_id, w in warehouses.items()}
