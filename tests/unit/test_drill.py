"""`ocp drill`'s pure parts: the peak's shape, percentiles, oversold units from orders, the deliveries (verified
and mapped by the channels' own adapters), the target check, and the sync-versus-real-time simulation."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime

import pytest

from infra.drill.oversell import committed_units, oversold
from infra.drill.payloads import (
    CHANNELS,
    Credentials,
    Request,
    deliveries_of,
    drill_orders,
    signed_request,
    sku_names,
)
from infra.drill.report import percentile
from infra.drill.sender import RemoteRefused, check_target, plan
from infra.drill.shape import LIVE_STREAM, expected_orders, phase_at, rate_at, send_offsets
from infra.drill.simulation import SimulationConfig, events, simulate_ocp, simulate_sync
from ocp.channels.base import ChannelCredentials, Delivery
from ocp.channels.registry import adapter_for
from ocp.domain.order.model import Channel, OrderStatus

NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
CREDENTIALS = {c: Credentials(f"{c}-secret", f"{c}-app-key") for c in CHANNELS}

# ---- shape -------------------------------------------------------------------------------------------------------


def test_the_shape_ramps_spikes_at_the_peak_then_plateaus() -> None:
    assert [p.name for p in LIVE_STREAM] == ["ramp", "spike", "plateau"]
    assert rate_at(0, 100, 10) == pytest.approx(1.0)
    assert rate_at(29.9, 100, 10) < rate_at(35, 100, 10) == pytest.approx(10.0)
    assert rate_at(80, 100, 10) == pytest.approx(5.0)
    assert phase_at(40, 100).name == "spike" and phase_at(100, 100).name == "plateau"
    assert rate_at(101, 100, 10) == 0


def test_offsets_follow_the_shape_and_are_bounded() -> None:
    offsets = send_offsets(100, 10)
    assert len(offsets) == round(expected_orders(100, 10)) == 530
    assert offsets == sorted(offsets) and offsets[0] > 0 and offsets[-1] <= 100
    spike = sum(30 <= t < 45 for t in offsets)
    plateau_same_span = sum(60 <= t < 75 for t in offsets)
    assert spike == pytest.approx(150, abs=1) and plateau_same_span == pytest.approx(75, abs=1)
    assert len(send_offsets(100, 10, max_orders=17)) == 17
    assert send_offsets(100, 10) == offsets  # deterministic
    assert send_offsets(0, 10) == [] == send_offsets(10, 0)


# ---- percentiles -------------------------------------------------------------------------------------------------


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 99) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 0) == 1.0 and percentile(values, 100) == 100.0


# ---- oversold ----------------------------------------------------------------------------------------------------


def _reserved(order_id: str, sku: str, quantity: int, warehouse: str = "WH-GZ", state: str = "active",
              status: str = "reserved") -> dict[str, object]:
    return {"order_id": order_id, "status": status, "warehouse": warehouse,
            "lines": [{"sku": sku, "quantity": quantity}],
            "reservation": {"state": state, "warehouse": warehouse,
                            "allocations": [{"sku": sku, "shard": 0, "quantity": quantity}]}}


def test_oversold_counts_orders_reserved_beyond_the_units_pushed() -> None:
    orders = [_reserved("a", "HOT", 3), _reserved("b", "HOT", 2), _reserved("c", "HOT", 1, warehouse="WH-SH")]
    assert oversold(orders, {("WH-GZ", "HOT"): 5, ("WH-SH", "HOT"): 1}) == {}
    # one more unit reserved at WH-GZ than it was given is one unit oversold, at WH-GZ only
    assert oversold([*orders, _reserved("d", "HOT", 1)], {("WH-GZ", "HOT"): 5, ("WH-SH", "HOT"): 1}) == {
        ("WH-GZ", "HOT"): 1}


def test_an_order_seen_twice_counts_once_and_released_reservations_not_at_all() -> None:
    orders = [_reserved("a", "HOT", 2), _reserved("a", "HOT", 2), _reserved("b", "HOT", 4, state="released",
                                                                            status="cancelled")]
    assert committed_units(orders) == {("WH-GZ", "HOT"): 2}


def test_an_order_leaving_a_warehouse_without_a_reservation_still_commits_its_units() -> None:
    # shard sums never see it: the counters were not touched
    unreserved = {"order_id": "x", "status": "dispatched", "warehouse": "WH-GZ", "reservation": None,
                  "lines": [{"sku": "HOT", "quantity": 2}]}
    held = {"order_id": "y", "status": "held", "warehouse": None, "reservation": None,
            "lines": [{"sku": "HOT", "quantity": 9}]}
    assert oversold([_reserved("a", "HOT", 5), unreserved, held], {("WH-GZ", "HOT"): 5}) == {("WH-GZ", "HOT"): 2}


def test_a_split_allocation_counts_at_its_own_warehouse() -> None:
    order = _reserved("a", "HOT", 1)
    order["reservation"] = {"state": "active", "warehouse": "WH-GZ", "allocations": [
        {"sku": "HOT", "quantity": 1}, {"sku": "HOT", "quantity": 2, "warehouse": "WH-BJ"}]}
    assert committed_units([order]) == {("WH-GZ", "HOT"): 1, ("WH-BJ", "HOT"): 2}


# ---- deliveries --------------------------------------------------------------------------------------------------


def test_every_channels_deliveries_verify_and_map_with_the_projects_own_adapters() -> None:
    orders = drill_orders("a1b2c3", 16, sku_names("a1b2c3", 2), CHANNELS, NOW)
    assert {o.channel for o in orders} == set(CHANNELS)
    assert len({(o.channel, o.channel_order_id) for o in orders}) == 16
    for order in orders:
        adapter = adapter_for(order.channel)
        mapped = adapter.to_order(order.document)  # what doudian (or any channel's API) would serve
        assert (mapped.status, mapped.amounts.paid, [line.sku for line in mapped.lines]) == (
            OrderStatus.received, 9900, [order.sku])
        views = {kind: _received(d.order.channel, signed_request(d, CREDENTIALS, NOW))
                 for kind, d in deliveries_of(order, CREDENTIALS).items()}
        assert views["duplicate"].body == views["first"].body
        for kind, delivery in views.items():
            adapter.verify(delivery, ChannelCredentials(secret=f"{order.channel}-secret",
                                                        app_key=f"{order.channel}-app-key"))
            [message] = adapter.messages(delivery)
            assert message.problem is None and adapter.order_ref(message.document) == order.channel_order_id
            if not adapter.is_thin(message.document):
                seen = adapter.to_order(message.document)
                # the late view is older and unpaid: it must lose against the paid one
                assert (seen.status == OrderStatus.pending_payment) == (kind == "late_view")
                assert (seen.channel_updated_at < mapped.channel_updated_at) == (kind == "late_view")


def _received(channel: str, request: Request) -> Delivery:
    """The delivery the stack's webhook would build from `request`."""
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.path).query))
    return Delivery(channel=Channel(channel), headers={k.lower(): v for k, v in request.headers.items()},
                    query=query, body=request.body, received_at=NOW)


def test_a_tampered_delivery_fails_its_channels_check() -> None:
    [order] = [o for o in drill_orders("0f0f0f", 8, ["S"], CHANNELS, NOW) if o.channel == "taobao"][:1]
    request = signed_request(deliveries_of(order, CREDENTIALS)["first"], CREDENTIALS, NOW)
    delivery = _received("taobao", request).model_copy(update={"body": request.body.replace(b"99.00", b"9.90")})
    with pytest.raises(Exception, match="sign"):
        adapter_for("taobao").verify(delivery, ChannelCredentials(secret="taobao-secret", app_key="taobao-app-key"))


def test_the_plan_mixes_in_duplicates_and_late_views_after_their_order() -> None:
    orders = drill_orders("00aa11", 200, ["S"], CHANNELS, NOW)
    schedule = plan(orders, [float(i) for i in range(200)], CREDENTIALS, duplicates=0.25, out_of_order=0.1)
    kinds = [s.delivery.kind for s in schedule]
    assert kinds.count("first") == 200 and 30 < kinds.count("duplicate") < 70 and 8 < kinds.count("late_view") < 35
    first_at = {s.delivery.order.number: s.offset_s for s in schedule if s.delivery.kind == "first"}
    assert all(s.offset_s > first_at[s.delivery.order.number] for s in schedule if s.delivery.kind != "first")


def test_the_drill_refuses_a_remote_target_unless_allowed() -> None:
    assert check_target("http://127.0.0.1:3000/", allow_remote=False) == "http://127.0.0.1:3000"
    with pytest.raises(RemoteRefused, match="--allow-remote"):
        check_target("https://api.example.com", allow_remote=False)
    assert check_target("https://api.example.com", allow_remote=True) == "https://api.example.com"
    with pytest.raises(RemoteRefused):
        check_target("ftp://127.0.0.1", allow_remote=True)


# ---- the sync-versus-real-time simulation -----------------------------------------------------------------------

SMALL = SimulationConfig(minutes=45, orders_per_sku=150, skus=2, stock=130, seed=5)


def test_the_simulation_is_deterministic_and_uses_the_drill_shape() -> None:
    timeline = events(SMALL)
    assert timeline == events(SMALL)
    assert sum(e.kind == "order" for e in timeline) == SMALL.orders
    assert [e.at_s for e in timeline] == sorted(e.at_s for e in timeline)
    assert events(SimulationConfig(seed=6, orders_per_sku=150, skus=2)) != events(
        SimulationConfig(seed=5, orders_per_sku=150, skus=2))


def test_fifteen_minute_sync_oversells_and_drifts_while_reservation_does_neither() -> None:
    timeline = events(SMALL)
    sync, ocp = simulate_sync(SMALL, timeline), simulate_ocp(SMALL, timeline)
    assert sync.offered == ocp.offered == SMALL.orders
    assert sync.oversold_orders > 0 and 0 < sync.oversell_rate < 1
    assert sync.accuracy < 0.9 and sync.unit_accuracy < 1
    assert (ocp.oversold_units, ocp.accuracy, ocp.unit_accuracy) == (0, 1.0, 1.0)
    # OCP accepts no more than the stock there ever was (pushed plus every unit put back)
    put_back = sum(e.delta for e in timeline if e.kind == "correction" and e.delta > 0)
    assert ocp.accepted <= SMALL.stock * SMALL.skus + put_back


def test_with_stock_to_spare_nobody_oversells() -> None:
    plenty = SimulationConfig(minutes=30, orders_per_sku=100, skus=1, stock=1000, seed=1)
    timeline = events(plenty)
    sync, ocp = simulate_sync(plenty, timeline), simulate_ocp(plenty, timeline)
    assert sync.oversold_orders == 0 and sync.accepted == ocp.accepted == plenty.orders


# ---- the report and the command ---------------------------------------------------------------------------------


def test_the_report_counts_deliveries_orders_and_oversold_units_from_the_orders() -> None:
    from infra.drill.observer import Observed
    from infra.drill.report import build_report
    from infra.drill.sender import Sent

    a, b = drill_orders("abcdef", 2, ["HOT"], ["shopify"], NOW)
    views_a, views_b = deliveries_of(a, CREDENTIALS), deliveries_of(b, CREDENTIALS)
    sent = [Sent(views_a["first"], 0.0, 0.0, 0.010, 200), Sent(views_a["duplicate"], 1.0, 1.2, 0.030, 200),
            Sent(views_b["first"], 1.5, 1.5, 0.020, 200), Sent(views_b["late_view"], 2.0, 2.1, 5.0, 0)]
    reserved = _reserved("shopify-a", "HOT", 1) | {"holds": [], "timeline": [
        {"event": "received", "at": "2026-11-11T12:00:01Z"}, {"event": "routed", "at": "2026-11-11T12:00:02Z"},
        {"event": "reserved", "at": "2026-11-11T12:00:03Z"}, {"event": "dispatched", "at": "2026-11-11T12:00:09Z"}]}
    held = {"order_id": "shopify-b", "status": "held", "reservation": None, "lines": [{"sku": "HOT", "quantity": 1}],
            "holds": [{"reason": "insufficient_stock", "detail": "HOT needs 1, 0 available"}]}
    observed = [Observed(a, 0.0, "dispatched", reserved, decided_s=0.8, last_undecided_s=0.5),
                Observed(b, 1.5, "held", held, decided_s=2.5, last_undecided_s=2.0)]
    report = build_report(sent, observed, {("WH-GZ", "HOT"): 1}, {"peak": 1}, elapsed_s=4.0)
    assert (report["sent"], report["accepted"], report["errors"], report["orders"]) == (4, 3, 1, 2)
    assert report["deliveries_by_kind"] == {"duplicate": 1, "first": 2, "late_view": 1}
    assert (report["decided"], report["reserved"], report["held"]) == (2, 1, 1)
    assert report["held_by_reason"] == {"insufficient_stock": 1} and report["rejected_by_status"] == {"0": 1}
    assert (report["committed"], report["oversold"]) == (1, 0)
    assert report["webhook_latency_ms"] == {"p50": 20.0, "p99": 29.8, "max": 30.0}  # the failed one is left out
    assert report["webhook_to_decision_ms"]["p50"] == 900.0
    # the held order has no timeline here: only the reserved one's (received 12:00:01, reserved 12:00:03) counts
    assert report["received_to_decision_s"] == {"p50": 2.0, "p99": 2.0, "orders": 1}
    assert [(r["sent"], r["decided"]) for r in report["series"]] == [(1, 1), (2, 0), (1, 1)]
    # the same orders with one unit less pushed: one oversold unit, found from the reservation
    assert build_report(sent, observed, {("WH-GZ", "HOT"): 0}, {}, 4.0)["oversold"] == 1


def test_the_command_refuses_bad_options_and_prints_the_sync_table_alone(capsys: pytest.CaptureFixture[str]) -> None:
    from infra.cli import main

    assert main(["drill", "--duration", "0"]) == 2
    assert main(["drill", "--channels", "shopify,ebay"]) == 2
    assert main(["drill", "--url", "http://10.1.2.3:3000"]) == 2
    assert "--allow-remote" in capsys.readouterr().err
    assert main(["drill", "--simulate-sync", "--skus", "1"]) == 0
    printed = capsys.readouterr().out
    assert "15-minute sync" in printed and "OCP (reservation at order time)" in printed and "~82.0%" in printed


def test_no_lambda_code_imports_the_drill() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = [*(root / "functions").rglob("*.py"), *(root / "shared").rglob("*.py")]
    assert [p for p in sources if "infra.drill" in p.read_text(encoding="utf-8")] == []
