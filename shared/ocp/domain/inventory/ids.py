"""Warehouse ids (a leaf module: access checks `wms:<WAREHOUSE>` scopes without loading the stock models)."""

from __future__ import annotations

import re

WAREHOUSE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
