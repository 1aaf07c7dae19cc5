"""Assembling the platform: in AWS with CDK (app, stack, constructs) or locally (local/)."""
