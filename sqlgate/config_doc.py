"""The settings reference (deploy/config.md), generated from the settings classes.

Each field's one-line meaning lives here, next to nothing else, so `sqlgate config` and
deploy/config.md always list exactly the fields that exist (a test pins the file to this
output and fails when a new setting has no meaning written down).

>>> "SQLGATE_LAKE" in reference_markdown()
True
"""

from __future__ import annotations

import dataclasses

from sqlgate.settings import _SECTIONS

MEANINGS: dict[str, str] = {
    # engine
    "lake": "Lake root: a directory or `s3://bucket/prefix` of `<catalog>/<schema>/<table>` Delta tables.",
    "lake_endpoint_url": "S3 endpoint of the lake (S3-compatible servers); explicit, never from the AWS environment.",
    "lake_access_key_id": "S3 access key of the lake.",
    "lake_secret_access_key": "S3 secret key of the lake.",
    "lake_region": "S3 region of the lake.",
    "lake_allow_http": "Allow a plain-HTTP S3 endpoint for the lake.",
    "default_catalog": "Catalog of one- and two-level names when the statement names none.",
    "default_schema": "Schema of one-level names when the statement names none.",
    "catalog_db": "Where views, comments, owners and grants are kept: a SQLite file, or a postgresql:// URL when several gateways share a lake. Empty: <lake>/_sqlgate/catalog.sqlite (under cache_dir's parent for an s3:// lake).",
    "memory_limit": "DuckDB memory limit of each worker.",
    "threads": "DuckDB threads of each worker.",
    "statement_timeout_s": "Seconds a statement may run before it ends with DEADLINE_EXCEEDED.",
    "snapshot_check_s": "Seconds a cached Delta snapshot is trusted before the log is checked for newer commits.",
    "snapshot_cache_tables": "Tables whose latest snapshot a worker keeps (least recently used out first).",
    "constant_plans": "Translations of constant statements (no table read, e.g. SELECT 1) a worker keeps, least recently used out first; 0 = none.",
    "snapshot_cache_versions": "Time-travel snapshots cached per worker (least recently used out first).",
    "prefetch": "Read object-store blocks ahead of the scan (off: only what DuckDB asks for, when it asks).",
    "prefetch_depth": "Blocks a scan may fetch ahead of its reader.",
    "prefetch_concurrency": "Block fetches in flight at once per worker.",
    "prefetch_memory_bytes": "Bytes of fetched-but-unread blocks a worker may hold.",
    "prefetch_queued_files": "Leading data files of a queued long statement a worker fetches while it waits.",
    "prefetch_queued_bytes": "Bytes of a queued long statement a worker fetches while it waits.",
    "prefetch_queued_max": "Queued statements a worker prefetches for at once.",
    "cache_dir": "Directory of the on-disk block cache (survives worker restarts).",
    "cache_bytes": "Size cap of the block cache; least recently used blocks go first.",
    "cache_write_backlog_bytes": "Bytes waiting for the cache writer; past it a block is not cached rather than stall the scan.",
    "io_retries": "Retries of a failed block read before the statement fails with IO_ERROR.",
    "distributed_engine": "Spark Connect endpoint of the distributed lane (`sc://host:port`, e.g. Sail); unset: no such lane.",
    "distributed_fallback": "When that endpoint is down: `error` (TEMPORARILY_UNAVAILABLE) or `local` (run on the worker's DuckDB).",
    "distributed_connect_retries": "Connection retries (100 ms doubling to 2 s) before the distributed endpoint counts as down.",
    # fetch
    "results": "Result store: a directory (served by the gateway under signed URLs) or `s3://bucket/prefix`.",
    "results_endpoint_url": "S3 endpoint of the result store.",
    "results_access_key_id": "S3 access key of the result store.",
    "results_secret_access_key": "S3 secret key of the result store.",
    "results_region": "S3 region of the result store.",
    "signing_secret": "HMAC secret of local-store links; generated per process when empty.",
    "public_url": "Base URL clients reach the gateway at, for local-store links.",
    "link_ttl_s": "Seconds a result link stays valid (at most 900, as Databricks).",
    "result_ttl_s": "Seconds results are kept after success before the statement is CLOSED.",
    "chunk_target_bytes": "Target size of one result chunk in the store.",
    "upload_concurrency": "Chunks a worker uploads at once (and so holds in memory at most).",
    "max_chunks": "Most chunks of one result; past it the statement fails.",
    # pool
    "min_workers": "Workers kept warm while the warehouse runs.",
    "max_workers": "Most workers of one warehouse.",
    "worker_concurrency": "Statements one worker runs at once.",
    "auto_stop_mins": "Idle minutes before every worker stops (0: never).",
    "auto_stop_s": "Idle seconds before every worker stops; wins over auto_stop_mins (tests).",
    "heartbeat_s": "Seconds between worker heartbeats; three missed and the worker is replaced.",
    "worker_start_timeout_s": "Seconds a worker may take to start.",
    "stop_grace_s": "Seconds running statements get on stop before they are cancelled.",
    "short_max_bytes": "A statement scanning at most this many bytes (after pruning) may be short.",
    "short_max_files": "A statement scanning at most this many files may be short.",
    "short_max_seconds": "A fingerprint whose earlier runs took longer than this is long.",
    "short_reserved_share": "Share of worker capacity only short statements may use.",
    "reserve_short_workers": "Reserve that share as whole workers, so short statements never share DuckDB with a long scan.",
    "long_worker_nice": "CPU niceness of workers running long statements while a short worker is reserved (0: none).",
    "long_aging_s": "Seconds after which a queued long statement goes before newer short ones.",
    "queue_limit": "Statements queued per warehouse; past it 429 RESOURCE_EXHAUSTED with Retry-After.",
    "queue_timeout_s": "Seconds a statement may wait in the queue.",
    "prefetch_queued": "Ask a worker to fetch a waiting long statement's first files (object-store lakes).",
    "fifo": "One lane, first come first served (the benchmark's baseline).",
    "scale_cooldown_s": "Seconds of low load before the pool gives back a worker.",
    "distributed_min_bytes": "A query whose estimate scans more bytes runs on the distributed lane (when `distributed_engine` is set).",
    "worker_provider": "Where workers run: `local` (processes on this host) or `ray` (actors on a Ray cluster).",
    "worker_stream": "Local workers take statements on a Unix socket the gateway reads on its event loop; off: over Flight, as a remote worker.",
    "ray_address": "Ray cluster to join (`HOST:PORT` of its head); empty starts Ray on this host.",
    "ray_namespace": "Ray namespace of the worker actors.",
    "ray_worker_cpus": "CPUs each Ray worker actor reserves.",
    "ray_worker_memory_bytes": "Memory each Ray worker actor reserves (0: none; `memory_limit` still bounds DuckDB).",
    "ray_standby_workers": "Ready Ray actors kept besides the pool's workers, so scaling up is never a cold actor start.",
    # gateway
    "host": "Address to bind.",
    "port": "Port to bind.",
    "token": "The one API token of the default workspace (only its hash is kept).",
    "tokens_file": ("TOML/JSON file mapping sha256(token) to workspace, user and the "
                    "workspace's `catalogs = [...]` (others are not found), for many tenants."),
    "tls_cert": "TLS certificate (PEM); with tls_key the gateway serves HTTPS.",
    "tls_key": "TLS private key (PEM).",
    "warehouse_id": "Id of the default workspace's warehouse.",
    "warehouse_name": "Name shown by the Warehouses API.",
    "cluster_size": "Size shown by the Warehouses API.",
    "max_body_bytes": "Largest request body; past it 413.",
    "max_statement_bytes": "Largest statement text (Databricks: 16 MiB).",
    "inline_byte_limit": "Largest INLINE result; past it the statement fails (Databricks: 25 MiB).",
    "max_statements": "Statements the registry keeps; finished ones are forgotten first.",
    "statement_retention_s": "Seconds a finished statement stays visible before GET answers 404.",
    "max_sessions": "Sessions (REST and Thrift) one gateway holds open at once; more get 429.",
    "session_idle_s": "Seconds a session may go unused before it is closed, on every gateway sharing the state store.",
    "sweep_interval_s": "Seconds between retention sweeps of statements, results and store orphans.",
    "chunk_wait_s": "Longest a chunk GET waits for a chunk a running statement has not stored yet.",
    "statement_abandon_s": "Seconds an unfinished statement may go unpolled before it is cancelled (0: never).",
    "shutdown_grace_s": "Seconds running statements get to finish when the gateway stops.",
    "keep_alive_s": "Seconds an idle HTTP keep-alive connection stays open (drivers reuse idle sockets; uvicorn's own default of 5 s races them into 'socket hang up').",
    "log_level": "Log level (debug, info, warning, error).",
    "links_port": "Port of the sendfile listener for local-store links: 0 off (the gateway's /_results/ route, the default), > 0 that port, -1 auto (port + 1 without TLS, else off).",
    "links_public_url": "Base URL clients reach the link listener at; empty: http://<host>:<links_port>.",
    "links_max_connections": "Connections the link listener serves at once (a thread each); more get 503.",
    "links_idle_s": "Seconds an idle keep-alive connection to the link listener stays open.",
    "state_store": "The control-plane state store (statements, results of finished statements, history, sessions, the link signing key): sqlite:///PATH, postgresql://... for several gateways on one lake, or none. Empty: state.db beside a local result directory (.sqlgate/state.db with S3).",
    "gateway_id": "This gateway's name in the state store; empty: <hostname>:<port>, stable across restarts (a restarted gateway fails its own unfinished statements at once).",
    "state_shared": "Other gateways read this state store: a finished statement is shown only once its record is written. Always on for PostgreSQL; set it for a SQLite file shared by gateways on one host.",
    "state_heartbeat_s": "Seconds between this gateway's heartbeats in the store; after three missed beats the others fail its unfinished statements.",
    "state_poll_s": "Seconds between polls for cancel requests that reached another gateway.",
    "history_retention_s": "Seconds the query history is kept (Databricks: 30 days).",
    "history_sql_max_rows": "Newest history rows a statement reading system.query.history sees (sent to its worker).",
    "result_cache_bytes": "Bytes of results the result cache keeps in each gateway (0 = off); one entry may use a quarter.",
    "result_cache_shared_bytes": "Bytes of cache entries shared through a shared state store (PostgreSQL, state_shared), so a repeat is a hit on any gateway; 0 = not shared.",
}


def undocumented() -> list[str]:
    """Settings fields with no meaning written down here."""
    names = [f.name for cls in _SECTIONS.values() for f in dataclasses.fields(cls)]
    return [n for n in names if n not in MEANINGS]


def reference_markdown() -> str:
    """deploy/config.md: every setting, its environment variable, default and meaning."""
    out = [
        "# Configuration reference",
        "",
        "Generated by `sqlgate config` from `sqlgate/settings.py` (a test keeps this file equal",
        "to its output). Every setting has a default and can be set, lowest to highest",
        "precedence, in a TOML file given with `--config FILE` (under `[engine]`, `[fetch]`,",
        "`[pool]`, `[gateway]`, or flat), in an environment variable `SQLGATE_<NAME>`, or with a",
        "flag (`--lake`, `--results`, `--host`, `--port`, `--token`, `--tokens-file`, `--tls-cert`,",
        "`--tls-key`, or `--set name=value` for any). Only the CLI reads the environment; the",
        "packages receive one frozen `Settings` object.",
        "",
    ]
    for section, cls in _SECTIONS.items():
        out += [f"## [{section}]", "", "| name | environment | default | meaning |",
                "|---|---|---|---|"]
        for f in dataclasses.fields(cls):
            default = "" if f.default is dataclasses.MISSING else repr(f.default)
            meaning = MEANINGS.get(f.name, "")
            out.append(f"| `{f.name}` | `SQLGATE_{f.name.upper()}` | `{default}` | {meaning} |")
        out.append("")
    return "\n".join(out)
