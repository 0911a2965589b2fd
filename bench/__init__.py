"""The load-benchmark harness behind `sqlgate bench` (never imported by the other packages).

- `cli`: arguments, scenario order, outputs; `context`: one run's parameters and gateways;
- `data` (TPC-H lake), `queries` (texts and translation), `clients` (REST, Thrift, DuckDB),
  `runner` (timed streams), `stats`, `report` (results.json, report.md), `plots`;
- `local` (gateway subprocesses), `peers_roapi` (ROAPI as a peer);
- `scenarios/`: one module per scenario, each `run(ctx) -> Section`.
"""
