"""`ocp drill`: rehearse a live-stream peak against any OCP stack, and the sync-versus-real-time table.

A client tool (stdlib HTTP, threads): never imported by a Lambda function. One module per concept:
`shape` (when orders arrive), `payloads` (signed channel deliveries), `sender` (bounded concurrency),
`observer` (what became of each order), `oversell` (units committed against units pushed), `report`
(figures, table, JSON, chart), `simulation` (15-minute sync versus reservation at order time), `command`
(the CLI wiring).
"""
