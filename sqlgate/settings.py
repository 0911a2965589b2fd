"""One frozen settings object, built once at the CLI edge and passed down.

Each package gets its own section (`EngineSettings`, `FetchSettings`, `PoolSettings`,
`GatewaySettings`); engine/ and fetch/ never read the environment themselves.

Every field can be set, lowest to highest precedence, by its default, a TOML config file
(`[engine]`, `[fetch]`, `[pool]`, `[gateway]` tables, or flat keys), an environment variable
`SQLGATE_<FIELD>` (field names are unique across sections), and a CLI flag.

>>> s = Settings.load(env={"SQLGATE_THREADS": "3"}, overrides={"lake": "/tmp/lake"})
>>> (s.engine.threads, s.engine.lake)
(3, '/tmp/lake')
"""

from __future__ import annotations

import dataclasses
import math
import secrets
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

MiB = 1024 * 1024


# No statement runs longer than this, whatever is configured (30 days).
MAX_STATEMENT_S = 30 * 24 * 3600.0


@dataclass(frozen=True)
class EngineSettings:
    """Where the lake is and how a worker's DuckDB runs."""

    lake: str = ".demo-lake"
    # Explicit object-store options for s3:// lakes (endpoint_url, access_key_id,
    # secret_access_key, region, allow_http); never taken from the ambient environment.
    lake_endpoint_url: str | None = None
    lake_access_key_id: str | None = None
    lake_secret_access_key: str | None = None
    lake_region: str = "us-east-1"
    lake_allow_http: bool = False
    default_catalog: str = "main"
    default_schema: str = "default"
    # Where views, comments, owners and grants are kept: a SQLite file, or a
    # postgresql:// URL when gateways on several hosts share a lake. Empty: a SQLite file
    # beside the tables, <lake>/_sqlgate/catalog.sqlite (for an s3:// lake, under cache_dir).
    catalog_db: str = ""
    memory_limit: str = "4GB"
    threads: int = 2
    statement_timeout_s: float = 3600.0
    # Seconds a cached Delta snapshot is trusted before the log's latest version is checked.
    snapshot_check_s: float = 0.0
    # Time-travel snapshots (VERSION/TIMESTAMP AS OF) kept per worker, least recently used
    # out first; each holds its version's file list.
    snapshot_cache_versions: int = 64
    snapshot_cache_tables: int = 1024
    # Translations of constant statements (no table read: SELECT 1, SELECT current_date())
    # kept per worker, least recently used out first (engine/plans.py); 0 = none.
    constant_plans: int = 256
    prefetch: bool = True
    # Blocks fetched ahead of the reader, and fetches in flight at once. At 20 ms per request
    # 16 threads capped a 1,000 x 1 MB scan at ~62 round trips of latency (1.25 s); 64 threads
    # and 128 blocks ahead kept DuckDB from waiting (bench/prefetch.py). Memory stays bounded
    # by prefetch_memory_bytes whatever the depth.
    prefetch_depth: int = 128
    prefetch_concurrency: int = 64
    prefetch_memory_bytes: int = 256 * MiB
    cache_dir: str = ".sqlgate/cache"
    cache_bytes: int = 4096 * MiB
    # Bytes of fetched blocks waiting for the block cache's writer thread; past it a block
    # is not cached this time rather than making the scan wait for the disk.
    cache_write_backlog_bytes: int = 128 * MiB
    io_retries: int = 3
    # Prefetch for a long statement waiting in the queue (pool setting prefetch_queued):
    # at most this many of its leading data files and bytes, for at most
    # prefetch_queued_max queued statements per worker at once.
    prefetch_queued_files: int = 32
    prefetch_queued_bytes: int = 64 * MiB
    prefetch_queued_max: int = 2
    # The distributed lane (engine/distributed.py): a Spark Connect endpoint that reads
    # Delta (sc://host:port, e.g. a Sail server); unset = no distributed lane. Statements
    # the gateway flags (distributed_min_bytes) are sent there after the same checks.
    distributed_engine: str | None = None
    # When that endpoint cannot be reached: "error" fails the statement with
    # TEMPORARILY_UNAVAILABLE, "local" runs it on the worker's DuckDB instead.
    distributed_fallback: str = "error"
    # Connection retries (100 ms doubling to 2 s) before the endpoint counts as down.
    distributed_connect_retries: int = 3

    def lake_storage_options(self) -> dict[str, str]:
        """Storage options for deltalake/pyarrow, only those explicitly set."""
        opts: dict[str, str] = {"AWS_REGION": self.lake_region}
        if self.lake_endpoint_url:
            opts["AWS_ENDPOINT_URL"] = self.lake_endpoint_url
        if self.lake_access_key_id:
            opts["AWS_ACCESS_KEY_ID"] = self.lake_access_key_id
        if self.lake_secret_access_key:
            opts["AWS_SECRET_ACCESS_KEY"] = self.lake_secret_access_key
        if self.lake_allow_http:
            opts["AWS_ALLOW_HTTP"] = "true"
        return opts

    def time_limit(self, requested: float | None = None) -> float:
        """Seconds a statement may run: a client's timeout only ever shortens the operator's.

        Zero, negative, NaN or absent asks for no shorter limit. The result is capped so no
        timer overflows (a Thrift ``queryTimeout`` of 10**12 once broke the worker's timer).

        >>> s = EngineSettings(statement_timeout_s=5)
        >>> s.time_limit(20), s.time_limit(2), s.time_limit(None), s.time_limit(10**12)
        (5.0, 2.0, 5.0, 5.0)
        """
        limit = float(self.statement_timeout_s)
        if not math.isfinite(limit) or limit <= 0:
            limit = MAX_STATEMENT_S
        if requested is not None and math.isfinite(requested) and requested > 0:
            limit = min(limit, float(requested))
        return min(limit, MAX_STATEMENT_S)


@dataclass(frozen=True)
class FetchSettings:
    """The result store and its links."""

    # A local directory (served by the gateway under HMAC-signed URLs) or s3://bucket/prefix.
    results: str = ".sqlgate/results"
    results_endpoint_url: str | None = None
    results_access_key_id: str | None = None
    results_secret_access_key: str | None = None
    results_region: str = "us-east-1"
    # Secret for local-store link signatures; generated per process when unset.
    signing_secret: str = ""
    # Base URL the gateway is reachable at, for links to the local store.
    public_url: str = "http://127.0.0.1:8000"
    link_ttl_s: int = 900
    result_ttl_s: int = 3600
    chunk_target_bytes: int = 16 * MiB
    upload_concurrency: int = 4
    max_chunks: int = 100_000


@dataclass(frozen=True)
class PoolSettings:
    """The warm pool and the dual queue."""

    min_workers: int = 1
    max_workers: int = 2
    worker_concurrency: int = 4
    # Idle minutes before the pool stops; `auto_stop_s` (seconds) wins when set, for tests.
    auto_stop_mins: int = 10
    auto_stop_s: float | None = None
    heartbeat_s: float = 2.0
    worker_start_timeout_s: float = 30.0
    stop_grace_s: float = 30.0
    # A statement is short when it scans at most this many bytes and files...
    # (128 MiB: one data file as the lake writer sizes them, so a lookup pruned to one file
    # is short, a TPC-H SF1 scan of lineitem, 367 MB, is long.)
    short_max_bytes: int = 128 * MiB
    short_max_files: int = 64
    # ...and earlier runs of the same fingerprint took at most this long.
    short_max_seconds: float = 1.0
    # Share of worker slots only short statements may use.
    short_reserved_share: float = 0.25
    # With two or more workers, reserve that share as whole workers (at least one): long
    # statements never run there, so a short one never shares a worker's DuckDB threads
    # with a long scan. Off: the share is counted in slots across all workers.
    reserve_short_workers: bool = True
    # CPU niceness (0-19) given to the workers that run long statements while a reserved
    # short worker exists, so short statements win the cores when both want them; long
    # scans still use every idle cycle. 0 leaves priorities alone. Not applied in fifo mode.
    long_worker_nice: int = 10
    # Seconds after which a queued long statement is served before newer short ones.
    long_aging_s: float = 30.0
    queue_limit: int = 1000
    queue_timeout_s: float = 600.0
    # Ask a worker to fetch the first data files of a long statement that has to wait for a
    # slot (object-store lakes only; bounds in the engine's prefetch_queued_* settings).
    # Measured at 20 ms per request (bench/prefetch_queued.py): a 64 x 1 MB scan ran 1.5x
    # faster once it got its slot; a 256-file scan, 32 of its files prefetched, no slower.
    prefetch_queued: bool = True
    fifo: bool = False
    # A query whose estimate scans more than this many bytes runs on the distributed lane
    # (when distributed_engine is set). Default: 16 GiB, past one worker's memory_limit by far.
    distributed_min_bytes: int = 16 * 1024 * MiB
    # Where workers run: "local" (processes on this host) or "ray" (actors on a Ray cluster,
    # gateway/pool/ray.py; lake and results must then be reachable from every node: s3://).
    worker_provider: str = "local"
    # Local workers take statements on a Unix socket read by the gateway's event loop
    # (gateway/pool/stream.py) instead of Flight's do_get in a thread; control stays on
    # Flight. Measured by `sqlgate bench select1`: REST SELECT 1 ~25% faster. Off: Flight
    # only, as a remote worker is reached.
    worker_stream: bool = True
    # Ray cluster to join (HOST:PORT of its GCS); empty starts a Ray instance on this host.
    ray_address: str = ""
    ray_namespace: str = "sqlgate"
    # Resources each worker actor asks Ray for (memory 0: none reserved; DuckDB's own
    # memory_limit still bounds it).
    ray_worker_cpus: float = 1.0
    ray_worker_memory_bytes: int = 0
    # Ready actors kept besides the pool's workers, so scaling up never waits for a cold
    # actor (1-3 s: a Python start, the imports, an Engine).
    ray_standby_workers: int = 1
    # Seconds of low load (and since the last resize) before the pool gives back a worker;
    # the hysteresis that keeps it from thrashing.
    scale_cooldown_s: float = 30.0

    @property
    def auto_stop_seconds(self) -> float:
        """Idle seconds before the pool stops; 0 means never."""
        return self.auto_stop_s if self.auto_stop_s is not None else self.auto_stop_mins * 60.0


@dataclass(frozen=True)
class GatewaySettings:
    """The HTTP front: listening, auth, request bounds, statement bookkeeping."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    tokens_file: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    warehouse_id: str = "sqlgate0000000001"
    warehouse_name: str = "sqlgate"
    cluster_size: str = "X-Small"
    max_body_bytes: int = 17 * MiB
    max_statement_bytes: int = 16 * MiB
    inline_byte_limit: int = 25 * MiB
    max_statements: int = 10_000
    statement_retention_s: float = 12 * 3600.0
    # Sessions (REST and Thrift) one gateway holds open at once; more get 429.
    max_sessions: int = 10_000
    # Seconds a session may go unused before it is closed (in memory and in the state store).
    session_idle_s: float = 12 * 3600.0
    # Seconds between retention sweeps (expired results, forgotten statements, store orphans).
    sweep_interval_s: float = 30.0
    # Seconds a pending or running statement may go without its client polling it (REST GET,
    # Thrift status) before it is cancelled as abandoned; 0 disables. Databricks: 15 min.
    statement_abandon_s: float = 900.0
    # Longest a chunk GET on a still-running EXTERNAL_LINKS statement waits for that chunk
    # to be stored (it answers as soon as it is, or when the statement ends); 0 = no wait.
    chunk_wait_s: float = 10.0
    shutdown_grace_s: float = 10.0
    # Seconds an idle HTTP keep-alive connection stays open. Drivers (Node @databricks/sql,
    # JDBC, the Python connector's urllib3 pool) reuse idle sockets for minutes; closing them
    # sooner (uvicorn's default is 5 s) races their next request into "socket hang up".
    keep_alive_s: float = 300.0
    log_level: str = "info"
    # Port of the zero-copy listener for local-store links (sendfile, plain HTTP only).
    # 0 = off (links go to the gateway's /_results/ route); > 0 = that port; -1 = auto:
    # port + 1 without TLS, off with TLS. Off by default: the route now sends from a memory
    # map as cheaply (0.30 CPU-s per GB either way), the listener slowed httpx clients, and
    # a second port is one more thing to expose (docs/benchmarks.md, fetch).
    links_port: int = 0
    # Base URL clients reach that listener at; empty = http://<host>:<links_port>.
    links_public_url: str = ""
    # Connections the link listener serves at once (a thread each); more get 503.
    links_max_connections: int = 64
    # Seconds an idle keep-alive connection to the link listener is kept open.
    links_idle_s: float = 15.0
    # The control-plane state store (statements, history, sessions, signing key):
    # sqlite:///PATH, postgresql://... (several gateways on one lake), or "none". Empty:
    # state.db beside a local result directory (.sqlgate/state.db with an S3 store).
    state_store: str = ""
    # This gateway's name in a shared store; empty = <hostname>:<port>, stable across
    # restarts, so a restarted gateway fails its own unfinished statements at once.
    gateway_id: str = ""
    # Whether other gateways read this state store: then a finished statement is shown only
    # once its record is written (one write-behind batch later), so the next request, on any
    # gateway, sees it finished. Always so for PostgreSQL; set it for a SQLite file shared
    # by several gateways on one host.
    state_shared: bool = False
    # Seconds between heartbeats in the store; three missed beats and the other gateways
    # fail this one's unfinished statements.
    state_heartbeat_s: float = 2.0
    # Seconds between polls for cancel requests that reached another gateway.
    state_poll_s: float = 0.25
    # Seconds the query history is kept (Databricks' Query History API: 30 days).
    history_retention_s: float = 30 * 86400.0
    # Newest history rows a statement reading system.query.history sees (sent to its worker).
    history_sql_max_rows: int = 100_000
    # Bytes of inline results kept by the result cache (0 = off); an entry may use a quarter.
    result_cache_bytes: int = 256 * MiB
    # Bytes of cache entries shared through a shared state store (PostgreSQL, state_shared),
    # so a repeat on any gateway is a hit; 0 = each gateway keeps its own only.
    result_cache_shared_bytes: int = 256 * MiB

    @property
    def tls(self) -> bool:
        """Whether the gateway serves HTTPS: only with both a certificate and a key."""
        return bool(self.tls_cert and self.tls_key)


@dataclass(frozen=True)
class Settings:
    """All settings, one section per package."""

    engine: EngineSettings = field(default_factory=EngineSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    pool: PoolSettings = field(default_factory=PoolSettings)
    gateway: GatewaySettings = field(default_factory=GatewaySettings)

    @classmethod
    def load(
        cls,
        config_file: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Settings:
        """Build settings from defaults, a TOML file, `SQLGATE_*` variables and overrides.

        `overrides` (from CLI flags) are flat field names; None values are ignored.
        """
        flat: dict[str, Any] = {}
        if config_file:
            data = tomllib.loads(Path(config_file).read_text())
            for key, value in data.items():
                if isinstance(value, dict):
                    flat.update(value)
                else:
                    flat[key] = value
        for name in _FIELDS:
            raw = (env or {}).get(f"SQLGATE_{name.upper()}")
            if raw is not None:
                flat[name] = raw
        flat.update({k: v for k, v in (overrides or {}).items() if v is not None})
        unknown = sorted(set(flat) - set(_FIELDS))
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        sections: dict[str, Any] = {}
        for sf in fields(cls):
            section_type = _SECTIONS[sf.name]
            kwargs = {
                f.name: _coerce(f.name, _field_type(section_type, f.name), flat[f.name])
                for f in fields(section_type)
                if f.name in flat
            }
            sections[sf.name] = section_type(**kwargs)
        settings = cls(**sections)
        if not settings.fetch.signing_secret:
            settings = dataclasses.replace(
                settings,
                fetch=dataclasses.replace(settings.fetch, signing_secret=secrets.token_hex(32)),
            )
        return settings

    def replace(self, **flat: Any) -> Settings:
        """A copy with some flat fields changed, e.g. `settings.replace(port=0, threads=1)`."""
        changed: dict[str, Any] = {}
        for key, value in flat.items():
            if key not in _FIELDS:
                raise ValueError(f"unknown setting: {key}")
            section = _FIELDS[key]
            changed.setdefault(section, {})[key] = value
        return dataclasses.replace(
            self,
            **{s: dataclasses.replace(getattr(self, s), **kw) for s, kw in changed.items()},
        )


_SECTIONS: dict[str, type] = {
    "engine": EngineSettings,
    "fetch": FetchSettings,
    "pool": PoolSettings,
    "gateway": GatewaySettings,
}
# flat field name -> section name
_FIELDS: dict[str, str] = {
    f.name: section for section, cls in _SECTIONS.items() for f in fields(cls)
}


def _field_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def _coerce(name: str, typ: Any, value: Any) -> Any:
    """Turn text from the environment or a file into the field's type."""
    if isinstance(typ, types.UnionType):
        args = [a for a in typ.__args__ if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("", "none", "null")):
            return None
        typ = args[0]
    if typ is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"setting {name}: expected a boolean, got {value!r}")
    try:
        return typ(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"setting {name}: expected {typ.__name__}, got {value!r}") from exc


__all__ = ["EngineSettings", "FetchSettings", "GatewaySettings", "PoolSettings", "Settings"]
