"""The worker: the engine's side of the gateway↔worker protocol (`sqlgate.protocol`).

- `server`: the Arrow Flight server (statements and control actions);
- `results`: one statement's result loop (inline batches or stored chunks, then the end);
- `process`: the process main and the fork template.
"""
