"""CDK constructs for the OCP stack. Each reads `infra.wiring`; none keeps its own list of resources."""
