"""Result chunks nobody points to, swept when the gateway starts.

A result's chunks stay in the result store until their statement is closed, expires or
fails. A gateway that dies (kill -9, a crash, a lost host) leaves its statements' chunks
behind with nothing pointing at them, until the age sweep (`result_ttl_s`, an hour by
default) comes by. At startup, after the control plane has failed this gateway's unfinished
statements, every statement folder of the result store (``<ws>/<day>/<id>-<random>/``) is
checked against the state store and deleted unless:

- its statement is still PENDING or RUNNING (on another gateway sharing the store), or
- its statement SUCCEEDED and its manifest names this folder (the result is kept), or
- the state store has no record of it and is not known to cover every gateway writing the
  result store: only a local result directory with an unshared (SQLite) state store is;
  with a shared store another gateway may not have written its record yet (the journal
  writes behind), and gateways on one bucket may each keep their own SQLite file. The age
  sweep decides those.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from fetch import ResultStore
from gateway.core.control import chunk_prefixes
from gateway.core.store import StatementRecord, StateStore

log = logging.getLogger("sqlgate.gateway")


def statement_folders(keys: list[str]) -> dict[str, str]:
    """Statement folder -> statement id, from the store's keys.

    >>> statement_folders(["ws/20261203/01f0ab-cd-9f3e/0.arrow", "stray.txt"])
    {'ws/20261203/01f0ab-cd-9f3e/': '01f0ab-cd'}
    """
    found: dict[str, str] = {}
    for key in keys:
        parts = key.split("/")
        if len(parts) != 4 or "-" not in parts[2]:
            continue  # not a chunk key of ours: leave it alone
        statement_id = parts[2].rsplit("-", 1)[0]
        found["/".join(parts[:3]) + "/"] = statement_id
    return found


def orphaned(folder: str, record: StatementRecord | None, authoritative: bool) -> bool:
    """Whether a statement folder may be deleted (the rules of the module docstring);
    `authoritative`: the state store knows every statement that writes the result store."""
    if record is None:
        return authoritative
    if record.state in ("PENDING", "RUNNING"):
        return False
    return not (record.state == "SUCCEEDED" and folder in chunk_prefixes(record.manifest))


async def sweep_orphans(store: ResultStore, state: StateStore, authoritative: bool) -> int:
    """Delete the orphaned statement folders of `store`; returns how many went."""
    keys = await asyncio.to_thread(store.list_keys, "")
    lookup: Callable[[str], StatementRecord | None] = state.get_statement
    swept = 0
    for folder, statement_id in statement_folders(keys).items():
        record = await asyncio.to_thread(lookup, statement_id)
        if orphaned(folder, record, authoritative):
            await asyncio.to_thread(store.delete_prefix, folder)
            swept += 1
    if swept:
        log.warning("deleted the result chunks of %d statement(s) nothing points to", swept)
    return swept


__all__ = ["orphaned", "statement_folders", "sweep_orphans"]
