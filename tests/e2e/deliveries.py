"""Signed channel deliveries to a running local platform, as the channel would post them."""

from __future__ import annotations

import json
from typing import Any

import requests

from infra.local import LocalPlatform
from infra.local.demo import shopify_headers


def deliver_shopify(platform: LocalPlatform, document: dict[str, Any], topic: str = "orders/create",
                    idle_timeout: float = 30) -> str:
    """Post a web-store order signed with the platform's secret, wait until the platform is idle, and return the
    order's OCP id."""
    body = json.dumps(document, ensure_ascii=False).encode()
    headers = shopify_headers(body, platform.credentials["OCP_CHANNEL_SECRET_SHOPIFY"]) | {"X-Shopify-Topic": topic}
    response = requests.post(f"{platform.base_url}/webhooks/shopify", data=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    platform.wait_idle(timeout=idle_timeout)
    return f"shopify-{document['id']}"
