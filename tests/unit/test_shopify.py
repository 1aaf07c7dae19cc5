from datetime import UTC, datetime

import pytest

from ocp.channels.base import ChannelCredentials, Delivery
from ocp.channels.shopify import ShopifyAdapter
from ocp.channels.wire.shopify import sign
from ocp.domain.errors import MalformedDelivery, SignatureInvalid, UnmappableDocument
from ocp.domain.order.model import Channel, OrderStatus
from tests.support import fixture_bytes, fixture_json

ADAPTER = ShopifyAdapter()


def _delivery(body: bytes, headers: dict[str, str]) -> Delivery:
    return Delivery(channel=Channel.shopify, headers={k.lower(): v for k, v in headers.items()}, body=body,
                    received_at=datetime(2026, 11, 11, tzinfo=UTC))


def test_official_shopify_hmac_vector() -> None:
    # Given Shopify's own test vector
    vector = fixture_json("channels/shopify/webhook_hmac.official_test_vector.json")
    body = vector["raw_body"].encode()
    # When signed and verified / Then the digest is the official one and verification passes
    assert sign(vector["secret"], body) == vector["expected_x_shopify_hmac_sha256"]
    ADAPTER.verify(_delivery(body, vector["headers"]), ChannelCredentials(secret=vector["secret"]))


@pytest.mark.parametrize("tamper", ["body", "secret", "missing"])
def test_tampered_deliveries_are_rejected(tamper: str) -> None:
    vector = fixture_json("channels/shopify/webhook_hmac.official_test_vector.json")
    body, headers, secret = vector["raw_body"].encode(), dict(vector["headers"]), vector["secret"]
    if tamper == "body":
        body = b'{"foo":"bar"}'  # same JSON, different bytes: the digest is over raw bytes
    elif tamper == "secret":
        secret = "another_secret"
    else:
        headers.pop("X-Shopify-Hmac-Sha256")
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(_delivery(body, headers), ChannelCredentials(secret=secret))


def test_delivery_id_is_the_webhook_id_so_retries_share_it() -> None:
    body = b"{}"
    first = _delivery(body, {"X-Shopify-Webhook-Id": "w-1"})
    assert ADAPTER.delivery_id(first) == "w-1"
    assert ADAPTER.delivery_id(_delivery(body, {})) == ADAPTER.delivery_id(_delivery(body, {}))


def test_non_object_body_is_malformed() -> None:
    with pytest.raises(MalformedDelivery):
        ADAPTER.messages(_delivery(b"[1, 2]", {}))
    with pytest.raises(MalformedDelivery):
        ADAPTER.messages(_delivery(b"not json", {}))


def test_cn_order_maps_with_channel_allocations_and_exact_totals() -> None:
    # Given a paid CNY order with per-line discount allocations
    document = fixture_json("channels/shopify/orders_create.cn_discounted.json")
    # When mapped
    order = ADAPTER.to_order(document)
    # Then ids are strings, money is fen, times are UTC, and lines reconcile exactly
    assert order.order_id == "shopify-5840912375611902001"
    assert order.channel_order_id == "5840912375611902001"
    assert order.status == OrderStatus.received
    assert order.created_at == datetime(2026, 11, 11, 12, 5, 13, tzinfo=UTC)
    assert order.amounts.model_dump() == {"items": 65800, "discount": 6000, "shipping": 1000, "paid": 60800, "tax": 0}
    assert [(li.sku, li.quantity, li.unit_price, li.discount, li.paid) for li in order.lines] == [
        ("TEA-LONGJING-250", 2, 19900, 3629, 36171),
        ("CUP-CELADON", 1, 26000, 2371, 23629),
    ]
    assert order.address.province == "广东省" and order.address.recipient == "张**"
    assert order.buyer_note == "请周末送货" and order.tags == ("双11", "vip")


def test_docs_sample_uses_exact_gid_ids_and_apportions_unallocated_discount() -> None:
    # Given Shopify's docs sample: ids damaged above 2^53, a 20.00 discount with no allocations
    order = ADAPTER.to_order(fixture_json("channels/shopify/orders_create.docs_sample.json"))
    # Then the exact gid digits are used and the discount is spread so totals still reconcile
    assert order.channel_order_id == "820982911946154508"
    assert order.lines[0].line_id == "487817672276298554"
    assert sum(li.paid for li in order.lines) + order.amounts.shipping == order.amounts.paid == 40495
    assert sum(li.discount for li in order.lines) == 2000
    assert order.status == OrderStatus.cancelled


def test_unmappable_document_lists_every_reason() -> None:
    with pytest.raises(UnmappableDocument) as caught:
        ADAPTER.to_order({"currency": "CNY", "line_items": [{"price": "1.00", "quantity": 1, "id": 1}]})
    assert any("created_at" in r for r in caught.value.reasons)
    assert any("total_price" in r for r in caught.value.reasons)


def test_big_fixture_bytes_sign_as_channels_md_computed() -> None:
    # CHANNELS.md §1.2 computed the HMAC of the saved docs sample with secret "hush"
    body = fixture_bytes("channels/shopify/orders_create.docs_sample.json")
    assert sign("hush", body) == "UQKXYpYhM0t1xveXy1pquBoezRO0o9diJy041+DzZeE="


def test_refunded_lines_presentment_currency_and_duties_are_carried() -> None:
    # Given a paid order shown to the buyer in HKD, with duties, and a refund of its second line
    document = fixture_json("channels/shopify/orders_create.cn_discounted.json") | {
        "presentment_currency": "HKD",
        "current_total_duties_set": {"shop_money": {"amount": "12.00", "currency_code": "CNY"}},
        "refunds": [{"id": 1, "refund_line_items": [{"line_item_id": 13870121517107502}]}],
    }
    second_line_id = ADAPTER.to_order(document).lines[1].line_id
    document["refunds"][0]["refund_line_items"][0]["line_item_id"] = int(second_line_id)
    # When mapped
    order = ADAPTER.to_order(document)
    # Then
    assert [li.refund_requested for li in order.lines] == [False, True]
    assert order.cross_border is not None
    assert order.cross_border.model_dump(include={"kind", "tax", "presentment_currency"}) == {
        "kind": "duties", "tax": 1200, "presentment_currency": "HKD"}
    assert order.channel_status == "paid"


def test_rest_api_wrapper_is_accepted() -> None:
    document = fixture_json("channels/shopify/orders_create.cn_discounted.json")
    assert ADAPTER.to_order({"order": document}) == ADAPTER.to_order(document)
    assert not ADAPTER.is_thin(document)
    assert ADAPTER.order_ref(document) == "5840912375611902001"
