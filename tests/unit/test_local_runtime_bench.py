"""The local runtime benchmark's load: orders the platform reserves (none held as a duplicate), and its table."""

from __future__ import annotations

import json

from benchmarks.local_runtime import SKU, RunResult, format_table, order_bodies


def test_every_order_is_its_own_buyer_and_phone_in_a_run_and_across_runs() -> None:
    # Given two runs' orders
    documents = [json.loads(body) for tag in (1, 2) for body in order_bodies(50, run_tag=tag)]
    # Then ids, buyers and phones never repeat (the anomaly rules hold same-phone or same-buyer orders)
    assert len({d["id"] for d in documents}) == 100
    assert len({d["customer"]["id"] for d in documents}) == 100
    assert len({d["shipping_address"]["phone"] for d in documents}) == 100
    # And each is one unit of the hot SKU
    assert {(len(d["line_items"]), d["line_items"][0]["sku"], d["line_items"][0]["quantity"])
            for d in documents} == {(1, SKU, 1)}


def test_the_table_shows_orders_per_second_and_latency_percentiles() -> None:
    result = RunResult(label="working tree, orders 1–4", orders=4, seconds=2.0,
                       latencies_ms=[10.0, 20.0, 30.0, 400.0], failed_posts=0, reserved=4)
    table = format_table([result], concurrency=16)
    assert "| working tree, orders 1–4 | 4 | 4 | 0 | 2.0 | 2.0 | 30 | 400 |" in table
