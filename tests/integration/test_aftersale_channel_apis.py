"""The four channels' after-sale clients against the fake channel APIs, in-process (no socket).

The fake checks each request's signature with its own code and changes its records the channel's way, so a passing
write proves the client signed it, sent the version the channel checks, and named the amount the channel pays.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ocp.channels.aftersales.base import AfterSaleApi
from ocp.channels.aftersales.registry import aftersale_adapter_for
from ocp.channels.base import ApiConfig, ChannelCredentials
from ocp.domain.errors import ChannelApiRejected, ChannelApiUnavailable
from ocp.domain.returns.addresses import ReturnAddress
from ocp.domain.returns.channel import AfterSaleRefused, ChannelState, StaleAfterSale
from tests.channel_support import CREDENTIALS, jd_order_info
from tests.fakes.channel_apis import FakeChannelApis
from tests.support import fixture_json

NOW = datetime(2026, 11, 12, 4, 10, tzinfo=UTC)
WAREHOUSE = ReturnAddress(name="OCP 退货仓", phone="0571-88880000", province="浙江省", city="杭州市",
                          district="余杭区", detail="仓前街道 1 号", channel_address_id="520001")


@pytest.fixture
def fake() -> FakeChannelApis:
    fake = FakeChannelApis(credentials=dict(CREDENTIALS))
    fake.put_order("jd", jd_order_info("channels/jd/order_info.multi_line.json"))
    fake.put_order("shopify", fixture_json("channels/shopify/orders_create.cn_discounted.json"))
    return fake


def _api(fake: FakeChannelApis, channel: str, credentials: ChannelCredentials | None = None) -> AfterSaleApi:
    base = {"taobao": "http://fake/taobao/router/rest", "jd": "http://fake/jd/routerjson"}.get(
        channel, f"http://fake/{channel}")
    config = ApiConfig(base_url=base, credentials=credentials or CREDENTIALS[channel], transport=fake.transport(),
                       now=lambda: NOW)
    return aftersale_adapter_for(channel).aftersale_api(config)


def _douyin(fake: FakeChannelApis, name: str) -> str:
    return fake.put_aftersale("douyin", fixture_json(f"channels/douyin/{name}")["data"])


def _taobao(fake: FakeChannelApis, name: str, **changes: Any) -> str:
    refund = fixture_json(f"channels/taobao/{name}")["refund_get_response"]["refund"]
    return fake.put_aftersale("taobao", {**refund, **changes})


# ---- douyin ------------------------------------------------------------------------------------------------


def test_douyin_confirm_receipt_and_refund_sends_the_version_and_moves_the_record(fake: FakeChannelApis) -> None:
    # Given a return whose goods came back (status 11)
    aftersale_id = _douyin(fake, "aftersale_detail.return_refund.json")
    api = _api(fake, "douyin")
    record = api.fetch_aftersale(aftersale_id)
    assert record.state == ChannelState.buyer_returned
    # When OCP agrees the refund of what the buyer asked
    assert api.agree_refund(record, 29512) is None
    # Then Douyin got type 111 with the read update_time, and now shows the refund agreed at a new version
    [write] = fake.aftersale_writes("douyin")
    assert (write.method, write.aftersale_id, write.amount, write.version, write.accepted) == (
        "afterSale.operate:111", aftersale_id, 29512, record.version, True)
    again = api.fetch_aftersale(aftersale_id)
    assert again.state == ChannelState.refund_agreed and again.version != record.version
    assert all(call.signature_ok for call in fake.calls_to("douyin"))
    # And agreeing again is a success without another write
    api.agree_refund(again, 29512)
    assert len(fake.aftersale_writes("douyin")) == 1


def test_douyin_stale_version_is_stale(fake: FakeChannelApis) -> None:
    aftersale_id = _douyin(fake, "aftersale_detail.refund_only.json")
    api = _api(fake, "douyin")
    record = api.fetch_aftersale(aftersale_id)
    fake.touch_aftersale("douyin", aftersale_id)  # the buyer changed the request after OCP read it
    with pytest.raises(StaleAfterSale):
        api.agree_refund(record, 9188)
    assert [w.accepted for w in fake.aftersale_writes("douyin")] == [False]


def test_douyin_refund_already_agreed_elsewhere_is_a_success(fake: FakeChannelApis) -> None:
    aftersale_id = _douyin(fake, "aftersale_detail.refund_only.json")
    api = _api(fake, "douyin")
    record = api.fetch_aftersale(aftersale_id)
    api.agree_refund(record, 9188)
    # A retry with the old record (the first answer was lost): Douyin says state error, the re-read says agreed
    assert api.agree_refund(record, 9188) is None


def test_douyin_refuses_an_amount_it_would_not_pay(fake: FakeChannelApis) -> None:
    record = _api(fake, "douyin").fetch_aftersale(_douyin(fake, "aftersale_detail.refund_only.json"))
    with pytest.raises(AfterSaleRefused):
        _api(fake, "douyin").agree_refund(record, 9000)
    assert fake.aftersale_writes("douyin") == []


def test_douyin_agree_return_and_refuse(fake: FakeChannelApis) -> None:
    data = fixture_json("channels/douyin/aftersale_detail.return_refund.json")["data"]
    data["process_info"]["after_sale_info"] |= {"after_sale_status": 6}
    aftersale_id = fake.put_aftersale("douyin", data)
    api = _api(fake, "douyin")
    api.agree_return(api.fetch_aftersale(aftersale_id), WAREHOUSE)
    assert fake.aftersale(aftersale_id=aftersale_id, channel="douyin")["process_info"]["after_sale_info"][
        "return_address_id"] == 520001
    refused_id = _douyin(fake, "aftersale_detail.refund_only.json")
    api.refuse(api.fetch_aftersale(refused_id), "3", "已发货，请拒收后申请")
    assert [w.method for w in fake.aftersale_writes("douyin")] == ["afterSale.operate:101", "afterSale.operate:202"]
    assert api.fetch_aftersale(refused_id).state == ChannelState.refused


def test_douyin_modified_aftersales_lists_the_window(fake: FakeChannelApis) -> None:
    first = _douyin(fake, "aftersale_detail.refund_only.json")  # update_time 1794200000
    _douyin(fake, "aftersale_detail.return_refund.json")  # update_time 1794286800
    ids = _api(fake, "douyin").modified_aftersales(datetime.fromtimestamp(1794199999, UTC),
                                                   datetime.fromtimestamp(1794200001, UTC))
    assert ids == [first]


# ---- taobao ------------------------------------------------------------------------------------------------


def test_taobao_agree_refund_sends_fen_version_and_phase(fake: FakeChannelApis) -> None:
    refund_id = _taobao(fake, "aftersale_refund.refund_only.json")
    api = _api(fake, "taobao")
    record = api.fetch_aftersale(refund_id)
    assert record.requested_amount == 23962
    api.agree_refund(record, 23962)
    [write] = fake.aftersale_writes("taobao")
    assert (write.method, write.amount, write.version, write.accepted) == (
        "taobao.rp.refunds.agree", 23962, "1794280000456", True)
    assert api.fetch_aftersale(refund_id).state == ChannelState.refunded
    assert all(call.signature_ok for call in fake.calls_to("taobao"))


def test_taobao_stale_version_is_stale_on_every_write(fake: FakeChannelApis) -> None:
    api = _api(fake, "taobao")
    refund_id = _taobao(fake, "aftersale_refund.refund_only.json")
    record = api.fetch_aftersale(refund_id)
    fake.touch_aftersale("taobao", refund_id)
    with pytest.raises(StaleAfterSale):
        api.agree_refund(record, 23962)
    with pytest.raises(StaleAfterSale):
        api.refuse(record, "1", "商品已发出")
    goods_id = _taobao(fake, "aftersale_refund.return_goods.json")
    goods = api.fetch_aftersale(goods_id)
    fake.touch_aftersale("taobao", goods_id)
    with pytest.raises(StaleAfterSale):
        api.agree_return(goods, WAREHOUSE)
    assert [w.accepted for w in fake.aftersale_writes("taobao")] == [False, False, False]


def test_taobao_agree_return_then_confirm_receipt_with_refund(fake: FakeChannelApis) -> None:
    api = _api(fake, "taobao")
    refund_id = _taobao(fake, "aftersale_refund.return_goods.json")
    api.agree_return(api.fetch_aftersale(refund_id), WAREHOUSE)
    assert fake.aftersale("taobao", refund_id)["status"] == "WAIT_BUYER_RETURN_GOODS"
    fake.aftersale("taobao", refund_id)["status"] = "WAIT_SELLER_CONFIRM_GOODS"  # the buyer shipped it back
    api.agree_refund(api.fetch_aftersale(refund_id), 20007)
    assert [(w.method, w.amount) for w in fake.aftersale_writes("taobao")] == [
        ("taobao.rp.returngoods.agree", None), ("taobao.rp.refunds.agree", 20007)]


def test_taobao_modified_aftersales(fake: FakeChannelApis) -> None:
    early = _taobao(fake, "aftersale_refund.refund_only.json")  # modified 2026-11-11 09:00:00 GMT+8
    _taobao(fake, "aftersale_refund.return_goods.json")  # 12:00:00
    ids = _api(fake, "taobao").modified_aftersales(datetime(2026, 11, 11, 0, 30, tzinfo=UTC),
                                                   datetime(2026, 11, 11, 1, 30, tzinfo=UTC))
    assert ids == [early]


# ---- jd ----------------------------------------------------------------------------------------------------


def _jd_refund(fake: FakeChannelApis) -> str:
    row = fixture_json("channels/jd/aftersale_refundapply.json")[
        "jingdong_pop_afs_soa_refundapply_queryPageList_responce"]["queryResult"]["result"][0]
    return fake.put_aftersale("jd", row)


def _jd_service(fake: FakeChannelApis) -> str:
    data = fixture_json("channels/jd/aftersale_service.json")["jingdong_asc_query_view_responce"]["result"]["data"]
    return fake.put_aftersale("jd", data)


def test_jd_refund_application_approved_once(fake: FakeChannelApis) -> None:
    api = _api(fake, "jd")
    record = api.fetch_aftersale(_jd_refund(fake))
    assert len(record.lines) == 3
    api.agree_refund(record, 51800)
    assert [(w.method, w.amount, w.accepted) for w in fake.aftersale_writes("jd")] == [
        ("jingdong.pop.afs.soa.refundapply.replyRefund:1", 51800, True)]
    assert api.fetch_aftersale(record.aftersale_id).state == ChannelState.refund_agreed
    with pytest.raises(AfterSaleRefused):  # the old record again: JD says the state moved on
        api.refuse(record, "5", "已出库")
    assert all(call.signature_ok for call in fake.calls_to("jd"))


def test_jd_service_order_return_agreed_then_registered_and_stale_sys_version(fake: FakeChannelApis) -> None:
    api = _api(fake, "jd")
    service_id = _jd_service(fake)
    record = api.fetch_aftersale(service_id)
    fake.touch_aftersale("jd", service_id)
    with pytest.raises(StaleAfterSale):
        api.agree_return(record, WAREHOUSE)
    api.agree_return(api.fetch_aftersale(service_id), WAREHOUSE)
    fake.aftersale("jd", service_id)["expressCode"] = "JDVA00001"  # the buyer's waybill
    returned = api.fetch_aftersale(service_id)
    assert returned.state == ChannelState.buyer_returned
    api.agree_refund(returned, 26000)
    assert [(w.method, w.version, w.accepted) for w in fake.aftersale_writes("jd")] == [
        ("jingdong.asc.audit.send", "3", False), ("jingdong.asc.audit.send", "4", True),
        ("jingdong.asc.receive.register", "5", True)]
    with pytest.raises(AfterSaleRefused):
        api.refuse(api.fetch_aftersale(service_id), "1", "no")


def test_jd_modified_aftersales_lists_both_systems(fake: FakeChannelApis) -> None:
    refund_id, service_id = _jd_refund(fake), _jd_service(fake)
    ids = _api(fake, "jd").modified_aftersales(datetime(2026, 11, 11, 0, 0, tzinfo=UTC),
                                               datetime(2026, 11, 12, 3, 0, tzinfo=UTC))
    assert sorted(ids) == sorted([refund_id, service_id])
    assert _api(fake, "jd").modified_aftersales(datetime(2026, 11, 10, tzinfo=UTC),
                                                datetime(2026, 11, 10, 1, tzinfo=UTC)) == []


# ---- shopify -----------------------------------------------------------------------------------------------


def _shopify_return(fake: FakeChannelApis, **changes: Any) -> str:
    node = fixture_json("channels/shopify/aftersale_return.json")["data"]["return"]
    return fake.put_aftersale("shopify", {**node, **changes})


def test_shopify_approve_then_refund_once(fake: FakeChannelApis) -> None:
    api = _api(fake, "shopify")
    return_id = _shopify_return(fake)
    api.agree_return(api.fetch_aftersale(return_id), WAREHOUSE)
    record = api.fetch_aftersale(return_id)
    assert record.state == ChannelState.awaiting_buyer_return
    # When the refund is agreed, and agreed again (a retry after a timeout)
    first = api.agree_refund(record, 19900)
    second = api.agree_refund(record, 19900)
    # Then one refund exists, noted with the return, for 199.00
    assert first is not None and first == second
    [refund] = fake.shopify_refunds["5840912375611902001"]
    assert refund["note"] == f"ocp:{return_id}"
    assert [t["amount"] for t in refund["transactions"]] == ["199.00"]
    assert [(w.method, w.aftersale_id, w.amount) for w in fake.aftersale_writes("shopify")] == [
        ("returnApproveRequest", return_id, None), ("POST refunds.json", return_id, 19900)]


def test_shopify_refund_beyond_what_is_left_is_refused(fake: FakeChannelApis) -> None:
    record = _api(fake, "shopify").fetch_aftersale(_shopify_return(fake, status="OPEN"))
    with pytest.raises(AfterSaleRefused):
        _api(fake, "shopify").agree_refund(record, 60801)  # the order's total is 608.00
    assert fake.shopify_refunds["5840912375611902001"] == []


def test_shopify_decline_and_a_second_approve_of_a_declined_return(fake: FakeChannelApis) -> None:
    api = _api(fake, "shopify")
    return_id = _shopify_return(fake)
    record = api.fetch_aftersale(return_id)
    api.refuse(record, "final_sale", "定制商品不退")
    assert fake.aftersale("shopify", return_id)["status"] == "DECLINED"
    with pytest.raises(AfterSaleRefused):  # the stale record still says REQUESTED; Shopify answers userErrors
        api.agree_return(record, WAREHOUSE)


def test_shopify_modified_aftersales_and_bad_token(fake: FakeChannelApis) -> None:
    return_id = _shopify_return(fake)
    ids = _api(fake, "shopify").modified_aftersales(datetime(2026, 11, 12, 1, tzinfo=UTC),
                                                    datetime(2026, 11, 12, 3, tzinfo=UTC))
    assert ids == [return_id]
    wrong = CREDENTIALS["shopify"].model_copy(update={"access_token": "wrong"})
    with pytest.raises(ChannelApiRejected):
        _api(fake, "shopify", wrong).fetch_aftersale(return_id)


@pytest.mark.parametrize("channel", ["douyin", "taobao", "jd"])
def test_a_wrong_secret_is_refused_by_the_channel(fake: FakeChannelApis, channel: str) -> None:
    wrong = CREDENTIALS[channel].model_copy(update={"secret": "wrong"})
    with pytest.raises((ChannelApiRejected, ChannelApiUnavailable)):
        _api(fake, channel, wrong).fetch_aftersale("refund-1" if channel == "jd" else "1")
    assert [call.signature_ok for call in fake.calls_to(channel)] == [False]
