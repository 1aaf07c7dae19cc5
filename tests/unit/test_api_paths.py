"""Request paths put back as the routes are written."""

from __future__ import annotations

from ocp.api.paths import with_literal_colons


def test_an_encoded_colon_is_put_back_and_a_hash_encoded_only_where_asked() -> None:
    assert with_literal_colons({"path": "/orders%3Abulk"})["path"] == "/orders:bulk"
    assert with_literal_colons({"path": "/dlq%3aredrive"}, encode_hash=True)["path"] == "/dlq:redrive"
    assert with_literal_colons({"path": "/quarantine/d#m/redrive"}, encode_hash=True)["path"] == (
        "/quarantine/d%23m/redrive")
    untouched = {"path": "/quarantine/d#m/redrive"}
    assert with_literal_colons(untouched) is untouched
