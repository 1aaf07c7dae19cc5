"""Faults AFTER the commit, through the real handlers on moto: the write happened, the caller never heard.

The other fault tests fail a call before it reaches DynamoDB (nothing written, a plain retry). Here the real call is
made and succeeds, and only then does the caller see a timeout, a 5xx or a crash — the ambiguous cases an
at-least-once pipe produces:

- the order's `TransactWriteItems` committed, the processor saw a read timeout / a dropped connection / a 500;
- the processor crashed (or its enqueue failed) between the order write and the dispatch request;
- the dispatch request reached the queue but its acknowledgement was lost;
- SQS redelivered the inbox message after its visibility timeout while the first attempt was still running, and
  that attempt finished late (before its commit, and after it);
- a channel write-back accepted by Shopify that timed out here (retried by the schedule), or whose function crashed
  before recording it (retried by SQS).

Faults are botocore event hooks (`after-call.*` raises once the real call returned) or a transport wrapper that lets
the HTTP request through and then raises. SQS is driven the way Lambda's event source mapping does it (receive,
invoke, delete what succeeded; a failed message reappears once its visibility timeout passes). Every test ends with
the same end state: one order, one reservation, one warehouse instruction key, one channel shipment, nothing left on
any queue or dead-lettered, nothing quarantined, and stock books that the ledger explains.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from functions.channel_webhook.handler import lambda_handler as webhook
from functions.channel_writeback.handler import lambda_handler as channel_writeback
from functions.dispatcher.handler import lambda_handler as dispatcher
from functions.fulfillment_callback.handler import lambda_handler as callbacks
from functions.inventory_api.handler import lambda_handler as inventory_api
from functions.order_processor import handler as order_processor
from infra import wiring
from infra.local.provision import Resources
from infra.local.scheduler import scheduled_event
from infra.local.sqs_poller import sqs_event, succeeded_ids
from ocp import composition
from ocp.adapters.channels.http import UrllibTransport
from ocp.adapters.dynamodb.orders import DynamoOrderStore
from ocp.channels.base import HttpRequest, HttpResponse
from ocp.domain.clock import iso, utc_now
from ocp.domain.errors import ChannelApiUnavailable
from ocp.domain.fulfillment.state import WritebackState
from ocp.domain.order.model import Order, OrderStatus
from tests.fakes.channel_apis import FakeChannelApis
from tests.integration.conftest import SHOPIFY_SECRET, shopify_document
from tests.support import FakeContext, api_event, shopify_headers

ORDER_ID = "shopify-5840912375611902001"
CHANNEL_ORDER_ID = "5840912375611902001"
WAREHOUSE = "WH-GZ"
ORDERED = {"TEA-LONGJING-250": 2, "CUP-CELADON": 1}
ON_HAND = 10
KEY = {"x-api-key": "k", "Content-Type": "application/json"}


class LambdaCrashed(BaseException):  # noqa: N818 — the invocation died (timeout, OOM): no handler code catches it
    """The function's process died mid-invocation: nothing after this point ran, the batch is not answered."""


# ---- faults ------------------------------------------------------------------------------------------------------


@dataclass
class Faults:
    """Faults in the functions' AWS calls, as botocore event hooks on the default session (every client built
    afterwards carries them; registering resets the functions' cached clients). `after(...)`: the real call is
    made and its answer dropped for the fault; `before(...)`: the call never leaves; `stall(...)`: the call waits
    while something else runs. Each fires `times` times; `injected` counts them."""

    injected: list[str] = field(default_factory=list)
    _registered: list[tuple[str, str]] = field(default_factory=list)

    def after(self, operation: str, fault: Callable[[], BaseException], *,
              when: Callable[[dict[str, Any]], bool] = lambda _: True, times: int = 1,
              then: Callable[[], None] | None = None) -> None:
        """`operation`: "<service>.<Operation>". `then` runs once the real call returned, before the fault."""
        left, tag = [times], uuid.uuid4().hex

        def mark(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            if left[0] > 0 and when(params):
                left[0] -= 1
                context[tag] = True

        def fail(context: dict[str, Any], **_: Any) -> None:
            if context.pop(tag, False):
                if then is not None:
                    then()
                self.injected.append(f"after {operation}")
                raise fault()

        self._register(f"before-parameter-build.{operation}", mark)
        self._register(f"after-call.{operation}", fail)

    def before(self, operation: str, fault: Callable[[], BaseException], *,
               when: Callable[[dict[str, Any]], bool] = lambda _: True, times: int = 1) -> None:
        left = [times]

        def fail(params: dict[str, Any], **_: Any) -> None:
            if left[0] > 0 and when(params):
                left[0] -= 1
                self.injected.append(f"before {operation}")
                raise fault()

        self._register(f"before-parameter-build.{operation}", fail)

    def stall(self, operation: str, meanwhile: Callable[[], None], *,
              when: Callable[[dict[str, Any]], bool] = lambda _: True, times: int = 1) -> None:
        """The call waits while `meanwhile` runs (a slow attempt, overtaken), then goes ahead."""
        left = [times]

        def wait(params: dict[str, Any], **_: Any) -> None:
            if left[0] > 0 and when(params):
                left[0] -= 1
                self.injected.append(f"stall {operation}")
                meanwhile()

        self._register(f"before-parameter-build.{operation}", wait)

    def _register(self, event: str, handler: Callable[..., None]) -> None:
        unique = f"fault-{uuid.uuid4().hex}"
        boto3.DEFAULT_SESSION.events.register(event, handler, unique_id=unique)  # type: ignore[union-attr]
        self._registered.append((event, unique))
        composition.reset()  # a client copies the session's hooks when it is built: the functions build new ones

    def clear(self) -> None:
        for event, unique in self._registered:
            boto3.DEFAULT_SESSION.events.unregister(event, unique_id=unique)  # type: ignore[union-attr]
        self._registered.clear()


@pytest.fixture
def faults(aws: Resources) -> Iterator[Faults]:
    injected = Faults()
    yield injected
    injected.clear()


def _timeout() -> BaseException:
    return ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/")


def _dropped() -> BaseException:
    return ConnectionClosedError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/")


def _server_error(operation: str) -> Callable[[], BaseException]:
    answer: Any = {"Error": {"Code": "InternalServerError", "Message": "Internal server error"},
                   "ResponseMetadata": {"HTTPStatusCode": 500}}
    return lambda: ClientError(answer, operation)


def _writes_order(params: dict[str, Any]) -> bool:
    """A transaction that puts this order (its first write, or a later one)."""
    return any(item.get("Put", {}).get("Item", {}).get("order_id") == {"S": ORDER_ID}
               for item in params.get("TransactItems", []))


def _to_queue(aws: Resources, queue_id: str) -> Callable[[dict[str, Any]], bool]:
    url = aws.resolve(wiring.Ref(queue_id, "url"))
    return lambda params: params.get("QueueUrl") == url


# ---- Lambda's SQS event source mapping, one step at a time ---------------------------------------------------------


@dataclass
class Trigger:
    """Receive a batch from the queue, invoke the function with it, delete what succeeded. A failed message stays
    on the queue; `expire` makes it visible again (its visibility timeout passed). An invocation that raises (a
    crash, or every record failed) leaves the whole batch."""

    aws: Resources
    queue_id: str
    handler: Callable[[dict[str, Any], Any], Any]
    errors: list[BaseException] = field(default_factory=list)
    """Why invocations failed as a whole (a crash; powertools raises when every record of a batch failed)."""

    @property
    def url(self) -> str:
        return self.aws.resolve(wiring.Ref(self.queue_id, "url"))

    def receive(self) -> list[dict[str, Any]]:
        sqs: Any = boto3.client("sqs")
        messages: list[dict[str, Any]] = sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"],
        ).get("Messages", [])
        return messages

    def invoke(self, messages: list[dict[str, Any]]) -> set[str]:
        """The ids of the messages that failed (all of them when the invocation crashed)."""
        ids = [m["MessageId"] for m in messages]
        try:
            result = self.handler(sqs_event(messages, self.aws.resolve(wiring.Ref(self.queue_id, "arn"))),
                                  FakeContext())
        except (LambdaCrashed, Exception) as failed:  # the invocation failed: Lambda retries the whole batch
            self.errors.append(failed)
            return set(ids)
        done = succeeded_ids(result, ids)
        for message in messages:
            if message["MessageId"] in done:
                boto3.client("sqs").delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return set(ids) - done

    def expire(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            boto3.client("sqs").change_message_visibility(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"],
                                                          VisibilityTimeout=0)

    def run(self) -> set[str]:
        """One poll: the failed ids (empty when nothing failed or nothing was there)."""
        messages = self.receive()
        return self.invoke(messages) if messages else set()

    def run_until_empty(self, rounds: int = 5) -> int:
        """Poll, redelivering failures at once, until the queue is empty; the number of failed invocations."""
        failures = 0
        for _ in range(rounds):
            messages = self.receive()
            if not messages:
                return failures
            failed = self.invoke(messages)
            if failed:
                failures += 1
                self.expire([m for m in messages if m["MessageId"] in failed])
        raise AssertionError(f"{self.queue_id} still not empty after {rounds} rounds")


def _processor_instance(event: dict[str, Any], context: Any) -> Any:
    """The order processor in a Lambda instance of its own (its own batch processor), as a redelivery runs."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    own = BatchProcessor(event_type=EventType.SQS, model=order_processor.InboxRecord)
    return process_partial_response(event=event, record_handler=order_processor.handle_record, processor=own,
                                    context=context)


# ---- the pipeline ------------------------------------------------------------------------------------------------


def _stock() -> None:
    for sku in ORDERED:
        response = inventory_api(api_event("PUT", "/inventory/{id}/{sku}", f"/inventory/{WAREHOUSE}/{sku}",
                                           headers=KEY, path_params={"id": WAREHOUSE, "sku": sku},
                                           body=json.dumps({"on_hand": ON_HAND, "version": 1})), FakeContext())
        assert response["statusCode"] == 200, response["body"]


def _post_webhook(delivery_id: str = "wh-1") -> None:
    body = json.dumps(shopify_document(), ensure_ascii=False).encode()
    response = webhook(api_event("POST", "/webhooks/{channel}", "/webhooks/shopify", body=body.decode(),
                                 headers=shopify_headers(body, SHOPIFY_SECRET, webhook_id=delivery_id),
                                 path_params={"channel": "shopify"}), FakeContext())
    assert response["statusCode"] == 200, response["body"]


def _inbox(aws: Resources) -> Trigger:
    return Trigger(aws, wiring.ORDERS_INBOX.id, order_processor.lambda_handler)


def _dispatch(aws: Resources) -> Trigger:
    return Trigger(aws, wiring.DISPATCH_QUEUE.id, dispatcher)


def _orders_table(aws: Resources) -> Any:
    return boto3.resource("dynamodb").Table(aws.resolve(wiring.Ref(wiring.ORDERS.id)))


def _stored(aws: Resources) -> Order:
    order = DynamoOrderStore(_orders_table(aws)).get(ORDER_ID)
    assert order is not None
    return order


def _queue_messages(aws: Resources, queue_id: str) -> list[dict[str, Any]]:
    sqs: Any = boto3.client("sqs")
    url = aws.resolve(wiring.Ref(queue_id, "url"))
    found: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
            "Messages", []):
        for message in batch:
            found.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def _wms_keys(aws: Resources) -> list[str]:
    """The idempotency key of every instruction on the warehouse's WMS queue (drained)."""
    return [m["MessageAttributes"]["idempotency_key"]["StringValue"]
            for m in _queue_messages(aws, wiring.wms_queue_id(WAREHOUSE))]


def _inventory(path: str, resource: str, sku: str) -> dict[str, Any]:
    response = inventory_api(api_event("GET", resource, path, headers=KEY, path_params={"id": sku, "sku": sku}),
                             FakeContext())
    assert response["statusCode"] == 200, response["body"]
    body: dict[str, Any] = json.loads(response["body"])
    return body


def _callback(**body: Any) -> dict[str, Any]:
    document = {"order_id": ORDER_ID, "at": iso(utc_now()), **body}
    response = callbacks(api_event("POST", "/fulfillment/events", "/fulfillment/events", body=json.dumps(document),
                                   headers=KEY), FakeContext())
    assert response["statusCode"] == 200, response["body"]
    answer: dict[str, Any] = json.loads(response["body"])
    return answer


# ---- the end state -----------------------------------------------------------------------------------------------


def assert_books(*, shipped: bool) -> None:
    """Each SKU's board is on hand 10 with the order's units reserved (or, shipped, gone from both), and the ledger
    explains it: one reservation (one `reserve` entry per SKU for this order, none released) and at most one
    shipment entry each."""
    for sku, quantity in ORDERED.items():
        board = _inventory(f"/inventory/{sku}", "/inventory/{id}", sku)
        expected = (ON_HAND - quantity, 0) if shipped else (ON_HAND, quantity)
        assert [(w["warehouse"], w["on_hand"], w["reserved"]) for w in board["warehouses"]] == [
            (WAREHOUSE, *expected)], board
        ledger = _inventory(f"/inventory-ledger/{sku}", "/inventory-ledger/{sku}", sku)
        assert [(w["warehouse"], w["explains_board"]) for w in ledger["warehouses"]] == [(WAREHOUSE, True)], ledger
        mine = [e for e in ledger["entries"] if e["order_id"] == ORDER_ID]
        kinds = sorted(e["kind"] for e in mine)
        assert kinds.count("reserve") == 1, kinds
        assert "release" not in kinds, kinds
        assert sum(e["delta_reserved"] for e in mine) == (0 if shipped else quantity), mine
        assert sum(e["delta_on_hand"] for e in mine) == (-quantity if shipped else 0), mine
        assert len({e["entry_id"] for e in ledger["entries"]}) == len(ledger["entries"])


def assert_end_state(aws: Resources, *, wms_keys: list[str], status: OrderStatus = OrderStatus.dispatched,
                     shipped: bool = False) -> Order:
    """The accepted webhook is one order (no quarantine, nothing dead-lettered, every queue drained), reserved
    once, handed to its warehouse as instruction v1 exactly once, and the books balance."""
    items = _orders_table(aws).scan()["Items"]
    assert [i["order_id"] for i in items] == [ORDER_ID]
    quarantined = boto3.resource("dynamodb").Table(aws.resolve(wiring.Ref(wiring.QUARANTINE.id))).scan()["Items"]
    assert quarantined == []
    for queue in (wiring.ORDERS_INBOX, wiring.DISPATCH_QUEUE, wiring.WRITEBACK_QUEUE):
        assert _queue_messages(aws, queue.id) == [], queue.id
        assert _queue_messages(aws, queue.dlq_id) == [], queue.dlq_id
    assert wms_keys == [f"{ORDER_ID}:1"], wms_keys
    order = _stored(aws)
    assert order.status == status
    assert order.warehouse == WAREHOUSE
    assert order.fulfillment.instruction_version == 1
    assert order.reservation is not None
    events = [e.event for e in order.timeline]
    assert events.count("received") == 1 and events.count("reserved") == 1 and events.count("dispatched") == 1, events
    assert_books(shipped=shipped)
    return order


def _process_and_dispatch(aws: Resources) -> list[str]:
    """Run the processor until its inbox is empty, then the dispatcher until its queue is; the WMS keys."""
    _inbox(aws).run_until_empty()
    _dispatch(aws).run_until_empty()
    return _wms_keys(aws)


# ---- 1. the order's transaction committed, the processor was not told -----------------------------------------------


@pytest.mark.parametrize("fault", [_timeout, _dropped], ids=["read-timeout", "connection-closed"])
def test_order_committed_but_the_processor_saw_a_network_fault_and_sqs_redelivers(
    aws: Resources, faults: Faults, fault: Callable[[], BaseException]
) -> None:
    # Given stock, and the order's transaction answered with a network fault after it committed
    _stock()
    faults.after("dynamodb.TransactWriteItems", fault, when=_writes_order)
    _post_webhook()
    # When the processor takes the message / Then the record fails, and stays on the queue
    inbox = _inbox(aws)
    first = inbox.receive()
    assert len(first) == 1 and inbox.invoke(first) == {first[0]["MessageId"]}
    assert faults.injected == ["after dynamodb.TransactWriteItems"]
    assert _stored(aws).status == OrderStatus.reserved  # yet the write happened
    # When SQS redelivers it after the visibility timeout, and the dispatcher runs
    inbox.expire(first)
    [again] = inbox.receive()
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    assert inbox.invoke([again]) == set()
    _dispatch(aws).run_until_empty()
    # Then one order, one reservation, one instruction
    assert_end_state(aws, wms_keys=_wms_keys(aws))


def test_order_committed_but_dynamodb_answered_500_and_the_transaction_is_retried_in_process(
    aws: Resources, faults: Faults
) -> None:
    # Given the order's transaction committed and answered 500 (botocore's own retries spent)
    _stock()
    faults.after("dynamodb.TransactWriteItems", _server_error("TransactWriteItems"), when=_writes_order)
    _post_webhook()
    # When the processor runs: its transaction retry finds the order written (condition failed), reads it, and
    # treats the message as the duplicate it is — without failing the record
    assert _inbox(aws).run_until_empty() == 0
    assert faults.injected == ["after dynamodb.TransactWriteItems"]
    _dispatch(aws).run_until_empty()
    # Then one order, one reservation, one instruction
    assert_end_state(aws, wms_keys=_wms_keys(aws))


def test_payment_committed_but_unacknowledged_confirms_the_reservation_once(aws: Resources, faults: Faults) -> None:
    # Given an unpaid order pre-reserved, then its payment whose write (confirming the reservation) timed out after
    # committing
    _stock()
    paid = shopify_document()
    unpaid = paid | {"financial_status": "pending", "updated_at": "2026-11-11T20:05:13+08:00"}
    for document, delivery in ((unpaid, "wh-unpaid"), (paid, "wh-paid")):
        body = json.dumps(document, ensure_ascii=False).encode()
        webhook(api_event("POST", "/webhooks/{channel}", "/webhooks/shopify", body=body.decode(),
                          headers=shopify_headers(body, SHOPIFY_SECRET, webhook_id=delivery),
                          path_params={"channel": "shopify"}), FakeContext())
        if delivery == "wh-unpaid":
            assert _inbox(aws).run_until_empty() == 0
            assert _stored(aws).status == OrderStatus.pending_payment
            faults.after("dynamodb.TransactWriteItems", _timeout, when=_writes_order)
    # When the processor runs until the inbox is empty (the payment's message redelivered once)
    assert _inbox(aws).run_until_empty() == 1
    assert faults.injected == ["after dynamodb.TransactWriteItems"]
    _dispatch(aws).run_until_empty()
    # Then the payment applied once: one order, its one reservation confirmed, one instruction
    order = assert_end_state(aws, wms_keys=_wms_keys(aws))
    events = [e.event for e in order.timeline]
    assert events.count("paid") == 1 and events.count("reservation_confirmed") == 1, events


# ---- 2. between the order's write and the dispatch request ----------------------------------------------------------


def test_a_crash_between_the_order_write_and_the_dispatch_enqueue_still_dispatches_once(
    aws: Resources, faults: Faults
) -> None:
    # Given the processor's process dies right before it asks for dispatch (its order written, nothing enqueued)
    _stock()
    faults.before("sqs.SendMessageBatch", LambdaCrashed, when=_to_queue(aws, wiring.DISPATCH_QUEUE.id))
    _post_webhook()
    # When the invocation dies / Then its message stays, and nobody was asked to dispatch
    inbox = _inbox(aws)
    first = inbox.receive()
    assert inbox.invoke(first) == {first[0]["MessageId"]}
    assert faults.injected == ["before sqs.SendMessageBatch"]
    assert _stored(aws).status == OrderStatus.reserved
    assert _queue_messages(aws, wiring.DISPATCH_QUEUE.id) == []
    # When SQS redelivers it / Then the redelivery finds the order never handed over and asks for it
    inbox.expire(first)
    assert inbox.run() == set()
    assert_end_state(aws, wms_keys=(_dispatch(aws).run_until_empty(), _wms_keys(aws))[1])


def test_a_failed_dispatch_enqueue_fails_the_record_and_the_redelivery_dispatches_once(
    aws: Resources, faults: Faults
) -> None:
    # Given the dispatch queue unreachable for the processor's one request (the order written before it)
    _stock()
    faults.before("sqs.SendMessageBatch",
                  lambda: EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com/"),
                  when=_to_queue(aws, wiring.DISPATCH_QUEUE.id))
    _post_webhook()
    # When the processor runs until its inbox is empty / Then one invocation failed, the redelivery went through
    assert _inbox(aws).run_until_empty() == 1
    assert faults.injected == ["before sqs.SendMessageBatch"]
    assert_end_state(aws, wms_keys=(_dispatch(aws).run_until_empty(), _wms_keys(aws))[1])


def test_a_dispatch_request_enqueued_but_unacknowledged_is_asked_twice_and_handed_over_once(
    aws: Resources, faults: Faults
) -> None:
    # Given the dispatch queue took the processor's request but the answer was lost
    _stock()
    faults.after("sqs.SendMessageBatch", _timeout, when=_to_queue(aws, wiring.DISPATCH_QUEUE.id))
    _post_webhook()
    # When the processor runs until its inbox is empty (the message redelivered once)
    assert _inbox(aws).run_until_empty() == 1
    assert faults.injected == ["after sqs.SendMessageBatch"]
    # Then the dispatcher holds two requests for the same version: the second finds v1 handed over
    requests = _dispatch(aws).receive()
    assert [json.loads(m["Body"])["after_version"] for m in requests] == [0, 0]
    assert _dispatch(aws).invoke(requests) == set()
    assert_end_state(aws, wms_keys=_wms_keys(aws))


def test_a_wms_hand_over_sent_but_unacknowledged_resends_the_same_version_under_the_same_key(
    aws: Resources, faults: Faults
) -> None:
    # Given the WMS queue took the instruction but the dispatcher never heard
    _stock()
    faults.after("sqs.SendMessage", _timeout, when=_to_queue(aws, wiring.wms_queue_id(WAREHOUSE)))
    _post_webhook()
    assert _inbox(aws).run_until_empty() == 0
    # When the dispatcher runs until its queue is empty (the request redelivered once)
    assert _dispatch(aws).run_until_empty() == 1
    assert faults.injected == ["after sqs.SendMessage"]
    # Then the WMS got the same instruction twice under one idempotency key (it dedupes on it), the order v1 once
    keys = _wms_keys(aws)
    assert keys == [f"{ORDER_ID}:1", f"{ORDER_ID}:1"]
    assert_end_state(aws, wms_keys=sorted(set(keys)))


# ---- 3. redelivered after the visibility timeout while the first attempt still ran --------------------------------


@pytest.mark.parametrize("stalls", ["before its commit", "after its commit"])
def test_a_redelivery_overtakes_a_slow_first_attempt_that_finishes_late(
    aws: Resources, faults: Faults, stalls: str
) -> None:
    # Given the first attempt stalls (before its order transaction, or between the transaction and its dispatch
    # request) past the visibility timeout, and the redelivery runs to the end in another instance meanwhile
    _stock()
    inbox = _inbox(aws)
    _post_webhook()
    first = inbox.receive()
    overtaken: dict[str, Any] = {}

    def redelivery() -> None:
        inbox.expire(first)
        again = inbox.receive()
        overtaken["count"] = again[0]["Attributes"]["ApproximateReceiveCount"]
        overtaken["failed"] = Trigger(aws, wiring.ORDERS_INBOX.id, _processor_instance).invoke(again)

    def overtake() -> None:
        worker = threading.Thread(target=redelivery)
        worker.start()
        worker.join(timeout=60)
        assert not worker.is_alive()

    if stalls == "before its commit":
        faults.stall("dynamodb.TransactWriteItems", overtake, when=_writes_order)
    else:
        faults.stall("sqs.SendMessageBatch", overtake, when=_to_queue(aws, wiring.DISPATCH_QUEUE.id))
    # When the first attempt finally finishes
    assert inbox.invoke(first) == set()
    # Then the redelivery (receive count 2) succeeded, and so did the late first attempt
    assert overtaken == {"count": "2", "failed": set()}
    assert len(faults.injected) == 1
    # And the dispatcher was asked twice for v1 — by whichever attempt wrote the order, and by the other one, which
    # found it reserved and never handed over — and hands it over once
    requests = _dispatch(aws).receive()
    assert [json.loads(m["Body"])["after_version"] for m in requests] == [0, 0]
    assert _dispatch(aws).invoke(requests) == set()
    assert_end_state(aws, wms_keys=_wms_keys(aws))


# ---- 4. a channel write-back accepted by the channel, unacknowledged here ------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.at = utc_now()

    def __call__(self) -> datetime:
        return self.at

    def later(self, minutes: float) -> None:
        self.at += timedelta(minutes=minutes)


@pytest.fixture
def shopify(faults: Faults, shopify: FakeChannelApis) -> FakeChannelApis:
    """The conftest's fake Shopify, set up after the faults are armed."""
    return shopify


@pytest.fixture
def clock(shopify: FakeChannelApis, monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(composition, "utc_now", clock)
    composition.reset()
    return clock


def _lose_the_answer_to_the_fulfillment(monkeypatch: pytest.MonkeyPatch, faults: Faults,
                                        fault: Callable[[], BaseException]) -> None:
    """The first `POST …/fulfillments.json` reaches Shopify (which creates the fulfillment); its answer is lost."""
    real = UrllibTransport.send
    left = [1]

    def send(transport: UrllibTransport, request: HttpRequest) -> HttpResponse:
        response = real(transport, request)
        if left[0] and request.method == "POST" and request.url.endswith("/fulfillments.json"):
            left[0] -= 1
            faults.injected.append("after POST fulfillments.json")
            raise fault()
        return response

    monkeypatch.setattr(UrllibTransport, "send", send)


def _shipped_order(aws: Resources) -> None:
    _stock()
    _post_webhook()
    assert _process_and_dispatch(aws) == [f"{ORDER_ID}:1"]
    answer = _callback(event="shipped", event_id="wms-ship-1", carrier="SF", tracking_no="SF1")
    assert (answer["status"], answer["outcome"]) == ("shipped", "applied")


def _fulfillment_posts(shopify: FakeChannelApis) -> int:
    return sum(c.method.startswith("POST") and c.method.endswith("/fulfillments.json")
               for c in shopify.calls_to("shopify"))


def _assert_written_back_once(aws: Resources, shopify: FakeChannelApis) -> None:
    [shipped] = shopify.shipped_to("shopify")
    assert (shipped.order_id, shipped.tracking_no) == (CHANNEL_ORDER_ID, "SF1")
    assert shipped.lines == [("13370001", 2), ("13370002", 1)]
    assert _fulfillment_posts(shopify) == 1  # the retry found the fulfillment by its tracking number
    order = assert_end_state(aws, wms_keys=[f"{ORDER_ID}:1"], status=OrderStatus.shipped, shipped=True)
    [shipment] = order.fulfillment.shipments
    assert shipment.writeback.state == WritebackState.confirmed
    assert order.writeback_pending_since is None
    assert [e.event for e in order.timeline].count("written_back") == 1


def test_a_write_back_shopify_accepted_but_that_timed_out_here_is_retried_and_shopify_shows_one_shipment(
    aws: Resources, faults: Faults, shopify: FakeChannelApis, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a shipped order, and Shopify's answer to its fulfillment lost to a timeout
    _shipped_order(aws)
    _lose_the_answer_to_the_fulfillment(monkeypatch, faults,
                                        lambda: ChannelApiUnavailable("channel API unreachable: TimeoutError"))
    # When channel_writeback takes the queued write-back
    assert Trigger(aws, wiring.WRITEBACK_QUEUE.id, channel_writeback).run_until_empty() == 0
    # Then Shopify has the shipment, while the order shows it pending with a backoff
    assert faults.injected == ["after POST fulfillments.json"]
    assert len(shopify.shipped_to("shopify")) == 1
    writeback = _stored(aws).fulfillment.shipments[0].writeback
    assert (writeback.state, writeback.attempts) == (WritebackState.pending, 1)
    # When the retry schedule ticks after the backoff
    clock.later(minutes=2)
    tick = scheduled_event(next(s for s in wiring.SCHEDULES if s.function == "channel_writeback"), at=clock.at)
    swept = channel_writeback(tick, FakeContext())
    # Then the retry is confirmed without a second fulfillment: Shopify shows one shipment
    assert (swept["scanned"], swept["confirmed"], swept["retrying"]) == (1, 1, 0)
    _assert_written_back_once(aws, shopify)


def test_a_write_back_shopify_accepted_before_the_function_died_is_redelivered_and_shopify_shows_one_shipment(
    aws: Resources, faults: Faults, shopify: FakeChannelApis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a shipped order, and channel_writeback dying right after Shopify created the fulfillment
    _shipped_order(aws)
    _lose_the_answer_to_the_fulfillment(monkeypatch, faults, LambdaCrashed)
    # When SQS delivers the write-back until it is done (redelivered once after the crash)
    assert Trigger(aws, wiring.WRITEBACK_QUEUE.id, channel_writeback).run_until_empty() == 1
    # Then the redelivery found the fulfillment and recorded it: Shopify shows one shipment
    assert faults.injected == ["after POST fulfillments.json"]
    _assert_written_back_once(aws, shopify)
