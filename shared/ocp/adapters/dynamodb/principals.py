"""Principals in the `principals` table: `key#<hash>` for the authorizer's one read, `name#<name>` to keep names
unique and to list and revoke by name. Both items are written and deleted in one transaction."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from ocp.adapters.dynamodb.items import every_page_item
from ocp.domain.access.principals import Principal, PrincipalExists

_FIELDS = ("name", "scopes", "created_at", "usage_key", "usage_key_id")


def key_item_id(key_hash: str) -> str:
    return f"key#{key_hash}"


def name_item_id(name: str) -> str:
    return f"name#{name}"


class DynamoPrincipalStore:
    def __init__(self, table: Any) -> None:
        """`table` is a boto3 `dynamodb.Table` resource for the `principals` table."""
        self._table = table

    def create(self, principal: Principal, key_hash: str) -> None:
        fields = principal.model_dump(mode="json", exclude_none=True)
        new = "attribute_not_exists(pk)"
        try:
            self._table.meta.client.transact_write_items(TransactItems=[
                {"Put": {"TableName": self._table.name, "ConditionExpression": new,
                         "Item": {"pk": name_item_id(principal.name), "key_hash": key_hash, **fields}}},
                {"Put": {"TableName": self._table.name, "ConditionExpression": new,
                         "Item": {"pk": key_item_id(key_hash), **fields}}},
            ])
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                raise PrincipalExists(f"a principal named {principal.name!r} exists",
                                      details={"name": principal.name}) from error
            raise

    def get(self, name: str) -> Principal | None:
        item = self._table.get_item(Key={"pk": name_item_id(name)}, ConsistentRead=True).get("Item")
        return _to_principal(item) if item else None

    def by_key_hash(self, key_hash: str) -> Principal | None:
        # Consistent: a key revoked a moment ago must not pass (API Gateway's cache is the only delay allowed).
        item = self._table.get_item(Key={"pk": key_item_id(key_hash)}, ConsistentRead=True).get("Item")
        return _to_principal(item) if item else None

    def delete(self, name: str) -> Principal | None:
        item = self._table.get_item(Key={"pk": name_item_id(name)}, ConsistentRead=True).get("Item")
        if not item:
            return None
        try:
            self._table.meta.client.transact_write_items(TransactItems=[
                # Still the key read above: a name revoked and re-created meanwhile must not lose its record while
                # its new key stays open (unlisted, unrevokable).
                {"Delete": {"TableName": self._table.name, "Key": {"pk": name_item_id(name)},
                            "ConditionExpression": "attribute_exists(pk) AND key_hash = :h",
                            "ExpressionAttributeValues": {":h": item["key_hash"]}}},
                {"Delete": {"TableName": self._table.name, "Key": {"pk": key_item_id(item["key_hash"])}}},
            ])
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                # Revoked meanwhile by someone else (the key read is gone), perhaps re-created with a new key: that
                # one was not the one asked to revoke, so it stays, and this revoke found nothing.
                return None
            raise
        return _to_principal(item)

    def list(self) -> list[Principal]:
        items = every_page_item(self._table.scan, FilterExpression=Attr("pk").begins_with("name#"))
        return sorted((_to_principal(i) for i in items), key=lambda p: p.name)


def _to_principal(item: dict[str, Any]) -> Principal:
    return Principal.model_validate({f: item[f] for f in _FIELDS if f in item})
