"""The processors' rules cache: no store read per order when warm, a change seen within the TTL, and a broken
store or document never takes away the rules in force."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ocp.adapters.memory.rules import MemoryRulesStore
from ocp.domain.decisions.rules import InvalidRuleDocument
from ocp.domain.decisions.stored_rules import StoredRules
from ocp.services.decisions.rules import RulesCache, RulesSlaSource, current_rules, put_rules

NOW = datetime(2026, 11, 11, 4, 5, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def routing_doc(warehouse: str) -> dict[str, Any]:
    return {"rules": [{"id": "all", "priority": 1, "when": {"always": True}, "then": {"warehouses": [warehouse]}}]}


def test_a_warm_cache_reads_nothing_and_sees_a_change_after_the_ttl() -> None:
    # Given a stored routing document and a cache with a 5 s TTL
    store, clock = MemoryRulesStore(), Clock()
    put_rules(store, "routing", routing_doc("WH-GZ"), NOW)
    cache = RulesCache(store, ttl_s=5, clock=clock)
    assert cache.get("routing").version == 1
    reads = store.reads

    # When 10,000 orders ask within the TTL
    for _ in range(10_000):
        cache.get("routing")

    # Then the store was not read again
    assert store.reads == reads

    # When a new version is stored, it is served once the TTL passed (one probe + one fetch), not before
    put_rules(store, "routing", routing_doc("WH-SH"), NOW)
    clock.now += 4.9
    assert cache.get("routing").version == 1
    clock.now += 0.2
    assert cache.get("routing").version == 2
    assert cache.get("routing").rules[0].then.warehouses == ["WH-SH"]


def test_an_unchanged_version_is_not_fetched_or_compiled_again() -> None:
    store, clock = MemoryRulesStore(), Clock()
    put_rules(store, "routing", routing_doc("WH-GZ"), NOW)
    cache = RulesCache(store, ttl_s=5, clock=clock)
    first = cache.get("routing")
    clock.now += 60
    assert cache.get("routing") is first


def test_nothing_stored_means_the_built_in_default_at_version_0() -> None:
    cache = RulesCache(MemoryRulesStore())
    assert cache.book().versions() == {"routing": 0, "anomaly": 0, "gift": 0}


class FlakyStore(MemoryRulesStore):
    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def latest_version(self, kind: str) -> int:
        if self.down:
            raise ConnectionError("DynamoDB unreachable")
        return super().latest_version(kind)


def test_a_failing_store_keeps_the_rules_in_force_and_reports_it() -> None:
    # Given a cache serving version 1, and then a store outage
    store, clock, errors = FlakyStore(), Clock(), []
    put_rules(store, "routing", routing_doc("WH-GZ"), NOW)
    cache = RulesCache(store, ttl_s=5, clock=clock, on_error=lambda kind, exc: errors.append((kind, str(exc))))
    cache.get("routing")
    store.down = True
    clock.now += 10

    # When orders keep coming
    version = cache.get("routing").version

    # Then version 1 is still served, the failure is reported once per TTL, and a cold cache raises
    assert version == 1
    assert errors == [("routing", "DynamoDB unreachable")]
    cache.get("routing")
    assert len(errors) == 1
    with pytest.raises(ConnectionError):
        RulesCache(store).get("routing")


def test_a_stored_document_that_no_longer_compiles_does_not_replace_the_good_one() -> None:
    store, clock, errors = MemoryRulesStore(), Clock(), []
    put_rules(store, "routing", routing_doc("WH-GZ"), NOW)
    cache = RulesCache(store, ttl_s=5, clock=clock, on_error=lambda kind, exc: errors.append(type(exc)))
    cache.get("routing")
    store.put(StoredRules(kind="routing", version=2, document={"rules": "garbage"}, created_at="x"))
    clock.now += 10
    assert cache.get("routing").version == 1
    assert errors == [InvalidRuleDocument]


def test_an_invalid_put_keeps_the_stored_version() -> None:
    store = MemoryRulesStore()
    put_rules(store, "routing", routing_doc("WH-GZ"), NOW)
    with pytest.raises(InvalidRuleDocument):
        put_rules(store, "routing", {"rules": [{"id": "x"}]}, NOW)
    assert current_rules(store, "routing").version == 1


def test_the_sla_source_serves_the_sla_document_with_its_version() -> None:
    store = MemoryRulesStore()
    sla = RulesSlaSource(RulesCache(store))
    assert sla.current().version == 0
    put_rules(store, "sla", {"statuses": {"reserved": {"hop": "dispatch", "max_minutes": 3}}}, NOW)
    policy = RulesSlaSource(RulesCache(store)).current()
    assert policy.version == 1
    assert policy.statuses["reserved"].max_minutes == 3  # type: ignore[index]
