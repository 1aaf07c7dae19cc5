"""One behavioural suite for the ReturnStore port, run against the in-memory twin and the DynamoDB adapter (moto)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from infra import wiring
from infra.local.provision import local_name, table_definition
from ocp.adapters.dynamodb.returns import DynamoReturnStore
from ocp.adapters.memory.returns import MemoryReturnStore
from ocp.domain.errors import ConcurrentModification, InvalidQuery
from ocp.domain.returns.model import AfterSale, Policy, ReturnKind, ReturnLine, ReturnStatus
from ocp.ports import ReturnStore

AT = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[ReturnStore]:
    if request.param == "memory":
        yield MemoryReturnStore()
        return
    with mock_aws():
        boto3.client("dynamodb").create_table(**table_definition(wiring.RETURNS))
        # A small read size, so a filtered page takes several reads.
        yield DynamoReturnStore(boto3.resource("dynamodb").Table(local_name(wiring.RETURNS.id)), read_size=2)


def _after_sale(n: int, order_id: str = "taobao-1", channel: str = "taobao",
                status: ReturnStatus = ReturnStatus.requested, minutes: int | None = None) -> AfterSale:
    """After-sale `n`, created `n` minutes after AT (or `minutes`), its status since an hour later minus `n`."""
    created = AT + timedelta(minutes=n if minutes is None else minutes)
    return AfterSale(
        return_id=f"r-{n:02d}", order_id=order_id, channel=channel, kind=ReturnKind.return_refund, status=status,
        status_since=AT + timedelta(hours=1, minutes=-n), currency="CNY", created_at=created, updated_at=created,
        lines=(ReturnLine(line_id="1", sku="TEA-1", quantity=1, ordered=2, paid=5990, reason="不想要了"),),
        channel_aftersale_id=f"as-{n}", refund_amount=2995,
    )


def _all_pages(store: ReturnStore, limit: int, status: str | None = None, channel: str | None = None,
               order_id: str | None = None) -> list[list[str]]:
    pages: list[list[str]] = []
    token: str | None = None
    for _ in range(50):
        found, token = store.page(status, channel, order_id, limit, token)
        pages.append([a.return_id for a in found])
        if token is None:
            return pages
    raise AssertionError("the pages never ended")


def test_a_created_after_sale_reads_back_equal_and_a_second_create_is_refused(store: ReturnStore) -> None:
    after_sale = _after_sale(1)
    assert store.create(after_sale) is True
    assert store.get("r-01") == after_sale
    assert store.get("r-99") is None
    assert store.create(after_sale.model_copy(update={"reason": "changed"})) is False
    assert store.get("r-01") == after_sale


def test_a_policy_with_no_rule_window_or_limit_reads_back(store: ReturnStore) -> None:
    # The built-in default policy: no rule fired, no window, no auto-approval limit.
    policy = Policy(rule=None, version=0, auto_approve=True, window_days=None, refund_shipping=False,
                    require_receipt=True, max_auto_amount=None, refund_overdue_after_minutes=60,
                    minor_wear_deduction_percent=0, unsellable_deduction_percent=100)
    after_sale = _after_sale(1).model_copy(update={"policy": policy})
    store.create(after_sale)
    assert store.get("r-01") == after_sale


def test_replace_bumps_the_revision_and_refuses_a_stale_one(store: ReturnStore) -> None:
    store.create(_after_sale(1))
    approved = _after_sale(1).model_copy(update={"status": ReturnStatus.refund_pending})
    stored = store.replace(approved, expected_revision=0)
    assert stored.revision == 1
    assert stored.status == ReturnStatus.refund_pending
    assert store.get("r-01") == stored
    # A writer that read revision 0 is too late now, whatever revision its copy carries.
    with pytest.raises(ConcurrentModification):
        store.replace(approved.model_copy(update={"revision": 5}), expected_revision=0)
    assert store.replace(stored, expected_revision=1).revision == 2
    with pytest.raises(ConcurrentModification):
        store.replace(_after_sale(2), expected_revision=0)  # never created


def test_an_orders_after_sales_come_oldest_first(store: ReturnStore) -> None:
    for n, minutes in ((1, 30), (2, 10), (3, 20)):
        store.create(_after_sale(n, minutes=minutes))
    store.create(_after_sale(4, order_id="taobao-2"))
    assert [a.return_id for a in store.of_order("taobao-1")] == ["r-02", "r-03", "r-01"]
    assert store.of_order("taobao-9") == []


def _seed(store: ReturnStore) -> None:
    """Nine after-sales: r-01…r-06 of order taobao-1 (r-01…r-05 on taobao), r-07…r-09 of jd-7 on jd;
    every third one refunded."""
    for n in range(1, 10):
        store.create(_after_sale(
            n, order_id="taobao-1" if n <= 6 else "jd-7", channel="jd" if n == 6 or n >= 7 else "taobao",
            status=ReturnStatus.refunded if n % 3 == 0 else ReturnStatus.requested))


def test_a_page_filters_by_order_status_and_channel_in_index_order(store: ReturnStore) -> None:
    _seed(store)
    # An order's: newest first; the other filters applied after reading
    assert _all_pages(store, 50, order_id="taobao-1") == [["r-06", "r-05", "r-04", "r-03", "r-02", "r-01"]]
    assert _all_pages(store, 50, order_id="taobao-1", status="refunded") == [["r-06", "r-03"]]
    assert _all_pages(store, 50, order_id="taobao-1", status="refunded", channel="taobao") == [["r-03"]]
    # A status's: oldest in the status first (status_since falls as n rises)
    assert _all_pages(store, 50, status="refunded") == [["r-09", "r-06", "r-03"]]
    assert _all_pages(store, 50, status="requested", channel="jd") == [["r-08", "r-07"]]
    # A channel's: newest first
    assert _all_pages(store, 50, channel="jd") == [["r-09", "r-08", "r-07", "r-06"]]
    assert _all_pages(store, 50, channel="douyin") == [[]]
    # No filter: every after-sale once, in no promised order
    assert sorted(sum(_all_pages(store, 4), [])) == [f"r-{n:02d}" for n in range(1, 10)]


@pytest.mark.parametrize("limit", [1, 2, 3, 4])
def test_pages_cover_every_after_sale_exactly_once_and_the_last_carries_no_token(store: ReturnStore,
                                                                                 limit: int) -> None:
    _seed(store)
    channel = _all_pages(store, limit, channel="taobao")
    assert sum(channel, []) == ["r-05", "r-04", "r-03", "r-02", "r-01"]
    assert [len(page) for page in channel] == [limit] * (5 // limit) + ([5 % limit] if 5 % limit else [])
    # Filtered after reading (refunded among an order's six): still full pages, nothing skipped or repeated
    requested = _all_pages(store, limit, order_id="taobao-1", status="requested")
    assert sum(requested, []) == ["r-05", "r-04", "r-02", "r-01"]
    assert all(len(page) == limit for page in requested[:-1]) and requested[-1]
    everything = sum(_all_pages(store, limit), [])
    assert sorted(everything) == [f"r-{n:02d}" for n in range(1, 10)]


def test_a_page_after_a_change_of_status_goes_on_from_its_token(store: ReturnStore) -> None:
    _seed(store)
    first, token = store.page(None, "jd", None, 2, None)
    assert [a.return_id for a in first] == ["r-09", "r-08"]
    # The last one answered changes (its index key stays); the next page still starts right after it
    store.replace(first[-1].model_copy(update={"reason": "edited"}), expected_revision=0)
    rest, token = store.page(None, "jd", None, 2, token)
    assert ([a.return_id for a in rest], token) == (["r-07", "r-06"], None)


def _token(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def test_a_token_that_is_not_for_this_query_is_refused(store: ReturnStore) -> None:
    _seed(store)
    _, channel_token = store.page(None, "taobao", None, 2, None)
    _, order_token = store.page(None, None, "taobao-1", 2, None)
    assert channel_token is not None and order_token is not None
    bad = [
        "not a token!", "e30", _token(["r-01"]), _token({"return_id": "r-01"}),
        _token({"return_id": 1, "channel": "taobao", "created_at": "2026-11-11T04:01:00Z"}),
        channel_token + "x",
    ]
    for token in bad:
        with pytest.raises(InvalidQuery):
            store.page(None, "taobao", None, 2, token)
    with pytest.raises(InvalidQuery):  # another partition of the same index
        store.page(None, "jd", None, 2, channel_token)
    with pytest.raises(InvalidQuery):  # another index
        store.page(None, "taobao", None, 2, order_token)
    with pytest.raises(InvalidQuery):
        store.page(None, "taobao", None, 0, None)
    # and the good one still works
    assert [a.return_id for a in store.page(None, "taobao", None, 2, channel_token)[0]] == ["r-03", "r-02"]


def test_a_filtered_page_out_of_reads_answers_what_it_found_and_goes_on_from_there() -> None:
    # DynamoDB only: one read of two items a page, so a page of a rare status may come back short, even empty
    with mock_aws():
        boto3.client("dynamodb").create_table(**table_definition(wiring.RETURNS))
        store = DynamoReturnStore(boto3.resource("dynamodb").Table(local_name(wiring.RETURNS.id)),
                                  read_size=2, max_reads=1)
        _seed(store)
        pages = _all_pages(store, 2, order_id="taobao-1", status="refunded", channel="taobao")
    # r-06…r-04 read first: none matches, the page is empty but goes on
    assert pages[0] == []
    assert sum(pages, []) == ["r-03"]
