"""The order funnel's counts: which stage a new order or a callback adds, and what the order processor emits."""

from __future__ import annotations

import json

import pytest

from functions.order_processor import handler as order_processor
from ocp.domain.order.model import Hold, HoldReason, OrderStatus
from ocp.observability import (
    FUNNEL,
    ORDERS_DECIDED,
    ORDERS_DELIVERED,
    ORDERS_HELD,
    ORDERS_RESERVED,
    ORDERS_SHIPPED,
    callback_stage,
    new_order_stages,
)
from tests.held_support import paid_order


def test_the_funnel_runs_received_to_delivered_with_one_fixed_name_per_stage() -> None:
    assert [stage for stage, _, _ in FUNNEL] == ["received", "decided", "reserved", "dispatched", "shipped",
                                                 "delivered"]
    assert len({name for _, name, _ in FUNNEL}) == len(FUNNEL)


@pytest.mark.parametrize(("status", "stages"), [
    ("reserved", [ORDERS_DECIDED, ORDERS_RESERVED]),
    ("held", [ORDERS_DECIDED]),
    ("pending_payment", [ORDERS_DECIDED]),
    ("received", []),
])
def test_a_new_order_counts_as_decided_and_reserved_by_the_status_it_was_stored_with(
    status: str, stages: list[str]
) -> None:
    assert new_order_stages(status) == stages


@pytest.mark.parametrize(("event", "status", "applied", "stage"), [
    ("shipped", "shipped", True, ORDERS_SHIPPED),
    ("delivered", "delivered", True, ORDERS_DELIVERED),
    # a partial shipment leaves the order packed; a duplicate or late callback changes nothing
    ("shipped", "packed", True, None),
    ("shipped", "shipped", False, None),
    ("picked", "picked", True, None),
])
def test_only_the_callback_that_ships_or_delivers_the_order_counts(
    event: str, status: str, applied: bool, stage: str | None
) -> None:
    assert callback_stage(event, status, applied) == stage


def _emitted(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    """The EMF blobs powertools printed (one JSON document per line)."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def test_the_order_processor_counts_a_held_order_once_per_reason_with_the_reason_as_dimension(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a new order held for two reasons (one of them twice)
    order = paid_order("taobao-1001").model_copy(update={"status": OrderStatus.held, "holds": (
        Hold(reason=HoldReason.address_unresolved, detail="no district"),
        Hold(reason=HoldReason.buyer_note, detail="note"),
        Hold(reason=HoldReason.address_unresolved, detail="no city"),
    )})

    # When its decision is counted and the metrics are flushed
    order_processor._count_decision(order)
    order_processor.metrics.flush_metrics()
    blobs = _emitted(capsys)

    # Then it is decided (not reserved), and held once per reason, each with its `reason` and `service`
    held = [b for b in blobs if ORDERS_HELD in b]
    assert sorted(b["reason"] for b in held) == ["address_unresolved", "buyer_note"]  # type: ignore[type-var]
    assert {b["service"] for b in held} == {"order_processor"}
    counted = [b for b in blobs if ORDERS_DECIDED in b]
    assert len(counted) == 1 and ORDERS_RESERVED not in counted[0]
