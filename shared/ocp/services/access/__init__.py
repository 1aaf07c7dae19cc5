"""Principals: create, list, revoke; and who a presented key belongs to."""
