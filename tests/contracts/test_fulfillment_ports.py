"""Behavioural suites for the fulfilment ports `OrderQueries`, `WatchdogState` and `Checkpoints`, run against the
in-memory twins and the DynamoDB adapters (moto, tables as wiring declares them)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import wiring
from infra.local.provision import provision
from ocp.adapters.aws.fulfillment import DynamoCheckpoints, DynamoWatchdogState
from ocp.adapters.dynamodb.order_queries import DynamoOrderQueries
from ocp.adapters.dynamodb.orders import DynamoOrderStore
from ocp.adapters.memory.fulfillment import (
    MemoryCheckpoints,
    MemoryFulfillmentOrders,
    MemoryWatchdogState,
    summary,
)
from ocp.domain.order.model import Channel, Order, OrderStatus
from ocp.ports import Checkpoints, OrderQueries, OrderStore, WatchdogState
from tests.fulfillment_support import T0, order_at


@dataclass
class Twin:
    store: OrderStore
    queries: OrderQueries
    state: WatchdogState
    checkpoints: Checkpoints


@pytest.fixture(params=["memory", "dynamodb"])
def twin(request: pytest.FixtureRequest) -> Iterator[Twin]:
    if request.param == "memory":
        memory = MemoryFulfillmentOrders()
        yield Twin(memory, memory, MemoryWatchdogState(), MemoryCheckpoints())
        return
    with mock_aws():
        resources = provision(None, {})
        dynamodb = boto3.resource("dynamodb")
        orders = dynamodb.Table(resources.resolve(wiring.Ref(wiring.ORDERS.id)))
        state = dynamodb.Table(resources.resolve(wiring.Ref(wiring.WATCHDOG_STATE.id)))
        # A small page size, so the adapter's pagination is exercised.
        yield Twin(DynamoOrderStore(orders), DynamoOrderQueries(orders, page_size=2), DynamoWatchdogState(state),
                   DynamoCheckpoints(state))


def _order(suffix: str, status: OrderStatus, minutes: int, channel: Channel = Channel.shopify, **changes: Any) -> Order:
    return order_at(status, since=T0 + timedelta(minutes=minutes), order_id=f"{channel.value}-{suffix}",
                    channel=channel, channel_order_id=suffix, **changes)


def test_in_status_lists_one_status_up_to_a_time_oldest_first_over_every_page(twin: Twin) -> None:
    # Given five dispatched orders at minutes 5, 1, 4, 2, 9, and an accepted one
    for suffix, minutes in (("e", 5), ("a", 1), ("d", 4), ("b", 2), ("z", 9)):
        twin.store.create(_order(suffix, OrderStatus.dispatched, minutes))
    twin.store.create(_order("acc", OrderStatus.accepted, 0))
    # When the dispatched ones up to minute 5 are listed
    found = list(twin.queries.in_status(OrderStatus.dispatched, T0 + timedelta(minutes=5)))
    # Then they come oldest first, the boundary included, with their summary
    assert [s.order_id for s in found] == ["shopify-a", "shopify-b", "shopify-d", "shopify-e"]
    assert found[0] == summary(_order("a", OrderStatus.dispatched, 1))
    assert list(twin.queries.in_status(OrderStatus.delivered, T0 + timedelta(days=1))) == []


def test_writeback_pending_lists_only_open_write_backs_across_channels_oldest_first(twin: Twin) -> None:
    # Given orders with open write-backs on two channels, one too recent, and one with none (sparse index)
    twin.store.create(_order("s1", OrderStatus.shipped, 0, writeback_pending_since=T0 + timedelta(minutes=3)))
    twin.store.create(_order("j1", OrderStatus.shipped, 0, Channel.jd, writeback_pending_since=T0))
    twin.store.create(_order("j2", OrderStatus.delivered, 0, Channel.jd,
                             writeback_pending_since=T0 + timedelta(minutes=7)))
    twin.store.create(_order("s2", OrderStatus.shipped, 0, writeback_pending_since=T0 + timedelta(minutes=30)))
    twin.store.create(_order("s3", OrderStatus.shipped, 0))
    # When those pending since up to minute 10 are listed
    found = list(twin.queries.writeback_pending(T0 + timedelta(minutes=10)))
    # Then
    assert [(s.order_id, s.writeback_pending_since) for s in found] == [
        ("jd-j1", T0), ("shopify-s1", T0 + timedelta(minutes=3)), ("jd-j2", T0 + timedelta(minutes=7))]


def test_an_order_leaves_the_pending_list_once_its_write_back_is_acknowledged(twin: Twin) -> None:
    # Given an order with an open write-back
    order = _order("s1", OrderStatus.shipped, 0, writeback_pending_since=T0)
    twin.store.create(order)
    # When it is stored without one
    twin.store.replace(order.model_copy(update={"writeback_pending_since": None, "revision": 2}), expected_revision=1)
    # Then it is no longer listed
    assert list(twin.queries.writeback_pending(T0 + timedelta(days=1))) == []


def test_watchdog_state_keeps_the_last_counts_per_check(twin: Twin) -> None:
    # Given nothing saved
    assert twin.state.last_counts("stuck_orders") == {}
    # When counts are saved twice
    twin.state.save_counts("stuck_orders", {"wms_acceptance": 3, "dispatch": 0}, T0)
    twin.state.save_counts("stuck_orders", {"wms_acceptance": 4}, T0 + timedelta(minutes=5))
    # Then the last ones come back as ints
    assert twin.state.last_counts("stuck_orders") == {"wms_acceptance": 4}
    assert twin.state.last_counts("other") == {}


def test_in_status_after_resumes_right_after_a_position_even_one_that_left_the_status(twin: Twin) -> None:
    # Given six dispatched orders, two of them in the same second, and one accepted
    for suffix, minutes in (("a", 1), ("b", 2), ("c", 2), ("d", 4), ("e", 5), ("f", 9)):
        twin.store.create(_order(suffix, OrderStatus.dispatched, minutes))
    twin.store.create(_order("acc", OrderStatus.accepted, 3))
    everything = [s.order_id for s in twin.queries.in_status_after(OrderStatus.dispatched, None)]
    # When listing resumes after "b" (a tie at minute 2), and after a position no order holds any more
    after_b = [s.order_id for s in twin.queries.in_status_after(OrderStatus.dispatched,
                                                                (T0 + timedelta(minutes=2), "shopify-b"))]
    after_gone = [s.order_id for s in twin.queries.in_status_after(OrderStatus.dispatched,
                                                                   (T0 + timedelta(minutes=3), "shopify-acc"))]
    # Then every order of the status comes in index order, and each resumption starts right after its position
    assert everything == ["shopify-a", "shopify-b", "shopify-c", "shopify-d", "shopify-e", "shopify-f"]
    assert after_b == ["shopify-c", "shopify-d", "shopify-e", "shopify-f"]
    assert after_gone == ["shopify-d", "shopify-e", "shopify-f"]
    assert list(twin.queries.in_status_after(OrderStatus.dispatched, (T0 + timedelta(minutes=9), "shopify-f"))) == []


def test_checkpoints_keep_the_last_positions_per_name(twin: Twin) -> None:
    # Given nothing saved / When positions are saved twice / Then the last ones come back, per name
    assert twin.checkpoints.get("reconciliation") == {}
    twin.checkpoints.put("reconciliation", {"dispatched": "2026-11-11T04:00:00Z|shopify-1"}, T0)
    twin.checkpoints.put("reconciliation", {"accepted": "2026-11-11T04:05:00Z|shopify-2"}, T0 + timedelta(minutes=1))
    assert twin.checkpoints.get("reconciliation") == {"accepted": "2026-11-11T04:05:00Z|shopify-2"}
    assert twin.checkpoints.get("other") == {}
