"""Logger, tracer and metrics for a function: JSON logs with the order id as correlation id, never PII."""

from __future__ import annotations

import gc

from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "OCP"
TRACED_LIBRARIES = ("botocore", "httplib")
"""What X-Ray traces: every AWS call (boto3) and the HTTP calls to channels' and warehouses' APIs (urllib). Patching
only these, instead of Powertools' default of every library X-Ray supports, takes ~9 ms off each cold start."""


def instruments(service: str) -> tuple[Logger, Tracer, Metrics]:
    """The function's logger, tracer and metrics; called by each handler after its imports, which have all loaded."""
    if not gc.isenabled():  # the handler's modules loaded without collection (functions/__init__.py says why)
        gc.freeze()
        gc.enable()
    return (Logger(service=service), Tracer(service=service, patch_modules=TRACED_LIBRARIES),
            Metrics(namespace=NAMESPACE, service=service))


# ---- the order funnel: one dimension-free count per stage (dimension `service` only, as every metric here), so the
# dashboard draws received → decided → reserved → dispatched → shipped → delivered from fixed names.
ORDERS_RECEIVED = "Orders_created"
"""A new order captured (order_processor's outcome `created`)."""
ORDERS_DECIDED = "OrdersDecided"
"""A new order the checks, routing and reservation put somewhere (reserved, held, waiting for payment)."""
ORDERS_RESERVED = "OrdersReserved"
ORDERS_DISPATCHED = "Dispatch_dispatched"
"""The dispatcher handed an order to its WMS (its outcome `dispatched`)."""
ORDERS_SHIPPED = "OrdersShipped"
ORDERS_DELIVERED = "OrdersDelivered"
ORDERS_HELD = "OrdersHeld"
"""A new order held, once per hold reason, with the dimension `reason` (the held queue's reasons)."""
FUNNEL: tuple[tuple[str, str, str], ...] = (
    ("received", ORDERS_RECEIVED, "order_processor"),
    ("decided", ORDERS_DECIDED, "order_processor"),
    ("reserved", ORDERS_RESERVED, "order_processor"),
    ("dispatched", ORDERS_DISPATCHED, "dispatcher"),
    ("shipped", ORDERS_SHIPPED, "fulfillment_callback"),
    ("delivered", ORDERS_DELIVERED, "fulfillment_callback"),
)
"""(stage, metric name, the service that emits it), in funnel order."""


def new_order_stages(status: str) -> list[str]:
    """The funnel counts a newly captured order adds beside `ORDERS_RECEIVED`, from the status it was stored with."""
    if status == "received":
        return []  # captured but not decided yet (ingestion without rules)
    return [ORDERS_DECIDED, ORDERS_RESERVED] if status == "reserved" else [ORDERS_DECIDED]


def callback_stage(event: str, status: str, applied: bool) -> str | None:
    """The funnel count a fulfilment callback adds: the one that moved the order to `shipped` or `delivered`."""
    if not applied or event != status:
        return None
    return {"shipped": ORDERS_SHIPPED, "delivered": ORDERS_DELIVERED}.get(status)
