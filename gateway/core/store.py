"""The control-plane state store: one small interface; SQLite and PostgreSQL implement it.

What a gateway must not lose when it restarts, and what several gateways on one lake share:

- statements: state, the task, owner gateway, timestamps, error, and once finished the
  manifest and (inline results) the Arrow IPC bytes of the result, so any gateway answers any
  statement, before and after a restart;
- history: one row per statement, kept much longer than the statement itself (the Query
  History API and ``system.query.history`` read it);
- sessions (Thrift/REST sessions and their conf), keys (the result-link signing secret, so
  links stay valid across restarts and gateways) and gateways (a heartbeat per gateway, so
  the others can fail the statements of one that died).

Callers hold a `StateStore` and never know which one (gateway/core/stores.py picks it)::

    store = open_state_store("sqlite:///var/lib/sqlgate/state.db")   # or postgresql://...
    store.put_statements([record])                                   # upsert, one transaction
    store.get_statement(statement_id)                                # StatementRecord | None
    store.key("signing_secret", default)                             # insert-if-absent

Every method is blocking (a database round trip): the gateway calls them from a thread
(`gateway.core.journal` batches the writes off the event loop). Implementations are safe to
call from several threads. Times are Unix epoch seconds.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# The states a statement can still leave; the others are final.
ACTIVE_STATES = ("PENDING", "RUNNING")


@dataclass(frozen=True)
class StatementRecord:
    """One statement as the store keeps it; `task`, `error`, `manifest`, `info` are JSON."""

    statement_id: str
    workspace: str
    owner: str
    state: str
    task: str
    submitted_at: float
    started_at: float | None = None
    ended_at: float | None = None
    error: str | None = None
    manifest: str | None = None
    # Arrow IPC stream of an inline result (schema included); None for external results,
    # whose chunks are listed in the manifest and live in the result store.
    result: bytes | None = None
    # Scheduling facts for the response's sqlgate extension (lane, estimate, queue, cache).
    info: str | None = None
    cancel_requested: bool = False


@dataclass(frozen=True)
class HistoryRecord:
    """One statement in the query history (Databricks' Query History fields, flattened)."""

    statement_id: str
    workspace: str
    user_name: str
    user_id: int
    warehouse_id: str
    status: str
    statement_text: str
    statement_type: str
    start_time: float
    end_time: float | None = None
    error_message: str | None = None
    rows_produced: int | None = None
    read_bytes: int | None = None
    read_files: int | None = None
    result_bytes: int | None = None
    queue_ms: float | None = None
    from_cache: bool = False
    client_application: str | None = None


@dataclass(frozen=True)
class HistoryFilter:
    """Which history rows to list: always one workspace; the rest narrows it."""

    workspace: str
    start_from: float | None = None
    start_until: float | None = None
    user_names: tuple[str, ...] = ()
    user_ids: tuple[int, ...] = ()
    warehouse_ids: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    statement_ids: tuple[str, ...] = ()
    # Keyset paging: rows strictly after (start_time, statement_id) in newest-first order.
    after: tuple[float, str] | None = None
    limit: int = 100


@dataclass(frozen=True)
class SessionRecord:
    """A client session and its configuration (JSON object of conf keys to text)."""

    session_id: str
    workspace: str
    user_name: str
    conf: str
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class CachedRecord:
    """A result-cache entry shared between gateways (gateway/core/cache.py): `versions` and
    `manifest` are JSON, `result` the Arrow IPC stream of an inline result (None: external,
    the manifest names the chunks)."""

    key: str
    versions: str
    manifest: str
    size: int
    created_at: float
    result: bytes | None = None


class StateStore(abc.ABC):
    """Where the control plane's state lives; see the module docstring."""

    url: str = ""

    # -- statements ---------------------------------------------------------------------

    @abc.abstractmethod
    def put_statements(self, records: Sequence[StatementRecord],
                       history: Sequence[HistoryRecord] = ()) -> None:
        """Insert or replace these statements (and history rows) in one transaction.

        A stored cancel request survives the replace (only `request_cancel` sets it).
        """

    @abc.abstractmethod
    def get_statement(self, statement_id: str) -> StatementRecord | None:
        """The statement, or None."""

    @abc.abstractmethod
    def active_statements(self, owners: Sequence[str] | None = None) -> list[StatementRecord]:
        """Pending and running statements (of these owner gateways; None: of every one)."""

    @abc.abstractmethod
    def fail_statements(self, owners: Sequence[str], error: str, now: float) -> list[str]:
        """End every pending/running statement of these owners FAILED with `error` (JSON);
        returns their ids."""

    @abc.abstractmethod
    def request_cancel(self, statement_id: str) -> bool:
        """Ask the owner gateway to cancel; False when the statement is not active."""

    @abc.abstractmethod
    def request_close(self, statement_id: str) -> StatementRecord | None:
        """A close from another gateway: a SUCCEEDED statement becomes CLOSED here at once
        (returned as it was: its manifest names the chunks to delete), an active one is to
        be cancelled; either way its owner is asked to drop it from memory too."""

    @abc.abstractmethod
    def cancel_requests(self, owner: str) -> list[tuple[str, bool]]:
        """(id, close?) of this owner's statements with a pending cancel or close request;
        `clear_requests` once handled."""

    @abc.abstractmethod
    def clear_requests(self, statement_ids: Sequence[str]) -> None:
        """Forget handled cancel/close requests."""

    @abc.abstractmethod
    def close_results(self, ended_before: float) -> list[StatementRecord]:
        """SUCCEEDED statements that ended before the cutoff become CLOSED (result dropped);
        returns them as they were (their manifests name the chunks to delete)."""

    @abc.abstractmethod
    def delete_statements(self, ended_before: float) -> list[StatementRecord]:
        """Forget final statements that ended before the cutoff; returns them as they were."""

    # -- history ------------------------------------------------------------------------

    @abc.abstractmethod
    def put_history(self, records: Sequence[HistoryRecord]) -> None:
        """Insert or replace these history rows in one transaction."""

    @abc.abstractmethod
    def list_history(self, flt: HistoryFilter) -> list[HistoryRecord]:
        """Rows matching the filter, newest start first (ties: statement id descending)."""

    @abc.abstractmethod
    def delete_history(self, started_before: float) -> int:
        """Drop history that started before the cutoff; returns how many rows went."""

    # -- sessions -----------------------------------------------------------------------

    @abc.abstractmethod
    def put_session(self, record: SessionRecord) -> None:
        """Insert or replace a session."""

    @abc.abstractmethod
    def get_session(self, session_id: str) -> SessionRecord | None:
        """The session, or None."""

    @abc.abstractmethod
    def delete_session(self, session_id: str) -> bool:
        """Forget a session; False when there was none."""

    @abc.abstractmethod
    def delete_sessions(self, updated_before: float) -> int:
        """Forget sessions last used before the cutoff; returns how many went."""

    # -- the shared result cache ---------------------------------------------------------

    @abc.abstractmethod
    def put_cached(self, record: CachedRecord, max_bytes: int) -> None:
        """Insert or replace an entry, then drop the oldest until the entries' sizes sum to
        at most `max_bytes`."""

    @abc.abstractmethod
    def get_cached(self, key: str) -> CachedRecord | None:
        """The entry, or None."""

    @abc.abstractmethod
    def delete_cached(self, keys: Sequence[str]) -> None:
        """Drop these entries."""

    # -- keys and gateways --------------------------------------------------------------

    @abc.abstractmethod
    def key(self, name: str, default: str) -> str:
        """The value stored under `name`; stores `default` first when there is none.

        Insert-if-absent in one statement, so concurrent gateways agree on one value.
        """

    @abc.abstractmethod
    def heartbeat(self, gateway_id: str, url: str, now: float) -> None:
        """Record that this gateway is alive (and where it listens)."""

    @abc.abstractmethod
    def gateways(self) -> dict[str, tuple[str, float]]:
        """gateway id -> (url, last heartbeat) of every gateway that ever beat."""

    @abc.abstractmethod
    def forget_gateway(self, gateway_id: str) -> None:
        """Drop a gateway's heartbeat row (it stopped cleanly, or was found dead)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


def default_state_url(results: str) -> str:
    """The default store: ``state.db`` beside a local result directory (none for S3).

    >>> default_state_url(".sqlgate/results")
    'sqlite:///.sqlgate/state.db'
    >>> default_state_url("s3://bucket/results")
    ''
    """
    if "://" in results:
        return ""
    parent = Path(results).expanduser().parent
    return f"sqlite:///{parent / 'state.db'}"


__all__ = [
    "ACTIVE_STATES",
    "CachedRecord",
    "HistoryFilter",
    "HistoryRecord",
    "SessionRecord",
    "StateStore",
    "StatementRecord",
    "default_state_url",
]
