"""Rule documents and catalog items in DynamoDB.

`rules`: one item per (kind, version); the sort key is the version zero-padded to 10 digits, so the newest is
the first item of a descending query. A new version is written with `attribute_not_exists`, so two writers
that both read version N cannot both store N+1: the second gets `RulesVersionConflict`. The document is kept
as JSON text (no float/Decimal round trip; stored exactly as accepted).

`catalog`: one item per SKU; money stays integer fen.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from botocore.exceptions import ClientError

from ocp.adapters.dynamodb.items import plain
from ocp.domain.decisions.rules.errors import RulesVersionConflict
from ocp.domain.decisions.stored_rules import StoredRules
from ocp.domain.operations.catalog import CatalogItem

_CONDITION_FAILED = "ConditionalCheckFailedException"
_BATCH_GET = 100
_BATCH_ATTEMPTS = 5


def version_key(version: int) -> str:
    return f"{version:010d}"


class DynamoRulesStore:
    def __init__(self, table: Any) -> None:
        """`table` is a boto3 `dynamodb.Table` resource for the `rules` table."""
        self._table = table

    def latest_version(self, kind: str) -> int:
        response = self._table.query(
            KeyConditionExpression="#k = :k", ExpressionAttributeValues={":k": kind},
            ExpressionAttributeNames={"#k": "kind", "#v": "version"}, ProjectionExpression="#v",
            ScanIndexForward=False, Limit=1, ConsistentRead=True,
        )
        items = response.get("Items") or []
        return int(items[0]["version"]) if items else 0

    def get(self, kind: str, version: int) -> StoredRules | None:
        key = {"kind": kind, "version": version_key(version)}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return _to_rules(item) if item else None

    def latest(self, kind: str) -> StoredRules | None:
        response = self._table.query(
            KeyConditionExpression="#k = :k", ExpressionAttributeValues={":k": kind},
            ExpressionAttributeNames={"#k": "kind"}, ScanIndexForward=False, Limit=1, ConsistentRead=True,
        )
        items = response.get("Items") or []
        return _to_rules(items[0]) if items else None

    def put(self, rules: StoredRules) -> None:
        item = {
            "kind": rules.kind,
            "version": version_key(rules.version),
            "document": json.dumps(rules.document, ensure_ascii=False, separators=(",", ":")),
            "created_at": rules.created_at,
        }
        try:
            self._table.put_item(
                Item=item, ConditionExpression="attribute_not_exists(#k)", ExpressionAttributeNames={"#k": "kind"}
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == _CONDITION_FAILED:
                raise RulesVersionConflict(
                    f"{rules.kind} version {rules.version} was stored by someone else first; read it and retry",
                    details={"kind": rules.kind, "version": rules.version},
                ) from exc
            raise


def _to_rules(item: dict[str, Any]) -> StoredRules:
    return StoredRules(
        kind=item["kind"], version=int(item["version"]), document=json.loads(item["document"]),
        created_at=item["created_at"],
    )


class DynamoCatalogStore:
    def __init__(self, table: Any) -> None:
        """`table` is a boto3 `dynamodb.Table` resource for the `catalog` table."""
        self._table = table

    def get(self, sku: str) -> CatalogItem | None:
        item = self._table.get_item(Key={"sku": sku}).get("Item")
        return _to_catalog_item(item) if item else None

    def get_many(self, skus: Iterable[str]) -> dict[str, CatalogItem]:
        wanted = list(dict.fromkeys(skus))
        found: dict[str, CatalogItem] = {}
        client, name = self._table.meta.client, self._table.name
        for start in range(0, len(wanted), _BATCH_GET):
            request: dict[str, Any] = {name: {"Keys": [{"sku": s} for s in wanted[start:start + _BATCH_GET]]}}
            for _ in range(_BATCH_ATTEMPTS):
                response = client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(name, []):
                    parsed = _to_catalog_item(item)
                    found[parsed.sku] = parsed
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
        return found

    def put(self, item: CatalogItem) -> None:
        self._table.put_item(Item=item.model_dump(mode="json", exclude_none=True))

    def put_many(self, items: Sequence[CatalogItem]) -> None:
        with self._table.batch_writer(overwrite_by_pkeys=["sku"]) as batch:
            for item in items:
                batch.put_item(Item=item.model_dump(mode="json", exclude_none=True))


def _to_catalog_item(item: dict[str, Any]) -> CatalogItem:
    return CatalogItem.model_validate(plain(item))
