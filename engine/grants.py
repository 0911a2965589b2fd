"""Privileges in the style of Unity Catalog: GRANT, REVOKE, SHOW GRANTS, and the checks.

Securables are catalogs, schemas, tables and views; privileges are USE CATALOG, USE SCHEMA,
SELECT, MODIFY, CREATE TABLE, CREATE SCHEMA and ALL PRIVILEGES; principals are the user
names of the tokens file (``account users`` stands for every user). The rules:

- the owner of an object — whoever created it — holds every privilege on it and on what
  it contains, and is the only one who may grant, drop or alter it;
- a privilege granted on a catalog or schema is inherited by everything inside;
- reaching an object needs USE CATALOG on its catalog and USE SCHEMA on its schema;
- objects with no owner anywhere on their path (tables written into the lake by
  ``sqlgate lake import`` or by other Delta writers, catalogs made as directories) are
  open to every user of a workspace bound to the catalog, as they were before grants
  existed: privileges start where ownership starts.

The engine's own callers (no user on the task: tests, imports) are not checked. Grants
live in the catalog database (`engine.catalogdb`), read afresh by every statement.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa
from sqlglot import exp

from engine.catalog import TableName
from engine.catalogdb import Securable
from engine.command import Command, empty, parse
from engine.errors import AnalysisError, PermissionDenied, TableNotFound, Unsupported

PRIVILEGES = ("ALL PRIVILEGES", "USE CATALOG", "USE SCHEMA", "SELECT", "MODIFY",
              "CREATE TABLE", "CREATE SCHEMA")
# the principal that stands for every user, as Databricks names the group
EVERYONE = ("account users", "users")


def _chain(sec: Securable) -> list[Securable]:
    """The securable and its parents, outermost first."""
    chain = [Securable("catalog", sec.catalog)]
    if sec.schema:
        chain.append(Securable("schema", sec.catalog, sec.schema))
    if sec.name:
        chain.append(sec)
    return chain


def _owner(cmd: Command, sec: Securable) -> str | None:
    record = cmd.store.get_object(sec)
    if record is None and sec.kind == "table":
        # a view and a table share a namespace; callers may not know which it is
        record = cmd.store.get_object(Securable("view", sec.catalog, sec.schema, sec.name))
    return record.owner if record is not None else None


def _held(cmd: Command, sec: Securable, user: str) -> set[str]:
    held = set()
    for principal, privilege in cmd.store.grants(sec):
        if principal == user or principal.lower() in EVERYONE:
            held.add(privilege)
    return held


def allowed(cmd: Command, privilege: str, sec: Securable) -> bool:
    """Whether the calling user holds `privilege` on `sec` (see the module's rules).

    Records on ``cmd.checks`` what the answer rested on (owners and privileges held along
    the securable's path), which `fingerprint` hashes.
    """
    user = cmd.user
    if user is None:
        cmd.checks.append(f"{privilege} {sec}: engine")
        return True
    chain = _chain(sec)
    owners = [_owner(cmd, s) for s in chain]
    if all(o is None for o in owners) or user in owners:
        cmd.checks.append(f"{privilege} {sec}: owners {owners}")
        return True
    held = [_held(cmd, s, user) for s in chain]
    cmd.checks.append(f"{privilege} {sec}: owners {owners} held {[sorted(h) for h in held]}")
    # USE CATALOG / USE SCHEMA are needed only where someone owns that level
    if owners[0] is not None and not held[0] & {"USE CATALOG", "ALL PRIVILEGES"}:
        return False
    if len(chain) > 1 and (owners[0] or owners[1]) and not (
            (held[0] | held[1]) & {"USE SCHEMA", "ALL PRIVILEGES"}):
        return False
    if privilege in ("USE CATALOG", "USE SCHEMA"):
        return True
    return any(privilege in h or "ALL PRIVILEGES" in h for h in held)


def require(cmd: Command, privilege: str, sec: Securable) -> None:
    """Raise PERMISSION_DENIED unless the calling user holds `privilege` on `sec`."""
    if not allowed(cmd, privilege, sec):
        raise PermissionDenied(
            f"[INSUFFICIENT_PERMISSIONS] User {cmd.user} does not have {privilege} on "
            f"{sec.kind.capitalize()} '{sec}'.")


def require_owner(cmd: Command, sec: Securable) -> None:
    """Raise PERMISSION_DENIED unless the calling user owns `sec` or what contains it."""
    user = cmd.user
    if user is None:
        return
    owners = [_owner(cmd, s) for s in _chain(sec)]
    if user in owners or all(o is None for o in owners):
        return
    raise PermissionDenied(f"[INSUFFICIENT_PERMISSIONS] User {user} is not the owner of "
                           f"{sec.kind.capitalize()} '{sec}'.")


def table(name: TableName) -> Securable:
    """The securable of a table."""
    return Securable("table", name.catalog, name.schema, name.table)


def check_reads(cmd: Command, names: list[TableName]) -> None:
    """SELECT on every table a query reads directly (not through a view)."""
    for name in dict.fromkeys(names):
        require(cmd, "SELECT", table(name))


def fingerprint(cmd: Command) -> str:
    """A digest of the caller, its workspace's catalogs and every privilege check made so
    far for this statement (``cmd.checks``): equal only when the same user passed the same
    checks on the same standing. The result cache keys on it, so a GRANT or REVOKE on
    anything the query relied on gives a new key (and the check itself runs again first).

    >>> from sqlgate.types import StatementTask
    >>> a = Command(None, StatementTask("s", "SELECT 1", user="ada"), "main", "default")
    >>> b = Command(None, StatementTask("s", "SELECT 1", user="ada"), "main", "default")
    >>> a.checks.append("SELECT main.s.t: owners ['ada']")
    >>> fingerprint(a) == fingerprint(b), len(fingerprint(a))
    (False, 32)
    """
    text = "\n".join([repr(cmd.task.user), repr(cmd.task.catalogs),
                      *sorted(set(cmd.checks))])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


# -- statements --------------------------------------------------------------------------


def _statement(cmd: Command) -> tuple[Securable, list[str], list[str]]:
    tree = parse(cmd.task.sql)
    if not isinstance(tree, (exp.Grant, exp.Revoke)):
        raise Unsupported("expected GRANT or REVOKE")
    privileges = [p.this.name.upper() if isinstance(p.this, exp.Var) else
                  p.this.sql("databricks").upper() for p in tree.args.get("privileges") or []]
    privileges = ["ALL PRIVILEGES" if p in ("ALL", "ALL PRIVILEGES") else p for p in privileges]
    for p in privileges:
        if p not in PRIVILEGES:
            raise AnalysisError(f"[INVALID_PRIVILEGE] Privilege {p} is not supported; use one "
                                f"of {', '.join(PRIVILEGES)}.", sql_state="42000")
    kind = str(tree.args.get("kind") or "TABLE").upper()
    sec = securable(cmd, kind, tree.args["securable"])
    principals = [p.this.name for p in tree.args.get("principals") or []]
    return sec, privileges, principals


def securable(cmd: Command, kind: str, node: exp.Expr) -> Securable:
    """`ON CATALOG c` / `ON SCHEMA [c.]s` / `ON [TABLE|VIEW] [[c.]s.]t` as a Securable."""
    if not isinstance(node, exp.Table):
        raise Unsupported(f"cannot grant on {node.sql('databricks')}")
    if kind == "CATALOG":
        return Securable("catalog", node.name)
    if kind in ("SCHEMA", "DATABASE"):
        return Securable("schema", node.db or cmd.catalog, node.name)
    if kind not in ("TABLE", "VIEW"):
        raise Unsupported(f"grants on {kind} are not supported")
    name = cmd.name(node)
    view = Securable("view", name.catalog, name.schema, name.table)
    record = cmd.store.get_object(view)
    if record is not None and record.definition is not None:
        return view
    if not cmd.lake.exists(name):
        raise TableNotFound(str(name))
    return table(name)


def grant(cmd: Command) -> pa.Table:
    """GRANT privilege[, ...] ON securable TO principal[, ...]."""
    sec, privileges, principals = _statement(cmd)
    require_owner(cmd, sec)
    for principal in principals:
        cmd.store.grant(sec, principal, privileges)
    return empty()


def revoke(cmd: Command) -> pa.Table:
    """REVOKE privilege[, ...] ON securable FROM principal[, ...]."""
    sec, privileges, principals = _statement(cmd)
    require_owner(cmd, sec)
    for principal in principals:
        cmd.store.revoke(sec, principal, privileges)
    return empty()


def show(cmd: Command, kind: str, node: exp.Table, principal: str | None) -> pa.Table:
    """SHOW GRANTS [principal] ON securable: principal, ActionType, ObjectType, ObjectKey."""
    sec = securable(cmd, kind, node)
    rows = [(p, priv) for p, priv in cmd.store.grants(sec) if principal in (None, p)]
    owner = _owner(cmd, sec)
    if owner is not None and principal in (None, owner):
        rows.insert(0, (owner, "OWN"))
    object_type = "TABLE" if sec.kind == "view" else sec.kind.upper()
    return pa.table({
        "Principal": pa.array([r[0] for r in rows], pa.string()),
        "ActionType": pa.array([r[1] for r in rows], pa.string()),
        "ObjectType": pa.array([object_type] * len(rows), pa.string()),
        "ObjectKey": pa.array([str(sec)] * len(rows), pa.string()),
    })


__all__ = ["PRIVILEGES", "allowed", "check_reads", "fingerprint", "grant", "require",
           "require_owner", "revoke", "securable", "show", "table"]
