"""Parameter markers of a statement: positional `?` numbered, session functions bound,
and every marker's value and type checked — values are bound by DuckDB, never spliced.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import SqlglotError

from engine.errors import InvalidParameter, Unsupported
from engine.paramtypes import parameter_type
from sqlgate.types import StatementTask

POSITIONAL = "__sqlgate_pos_"


def number_positional(tree: exp.Expr) -> None:
    """`?` markers -> `__sqlgate_pos_<k>`, k counted from 1 in the order they are written;
    the k-th marker binds the parameter named `k` (what the Thrift front names an ordinal
    parameter). Mixing `?` with `:name` is refused, as Spark does."""
    marks = list(tree.find_all(exp.Placeholder, bfs=False))
    positional = [ph for ph in marks if not ph.name or ph.name == "?"]
    if not positional:
        return
    if len(positional) != len(marks):
        raise InvalidParameter(
            "[UNBOUND_SQL_PARAMETER] Named (:name) and positional (?) parameters cannot be "
            "mixed in one statement. SQLSTATE: 42P02", sql_state="42P02")
    # A tree walk does not meet the markers in text order (sqlglot keeps a SELECT's LIMIT
    # before its WITH): tag them, find the tags in the generated text (clauses in SQL's own
    # order, as they were written), and number them by that position.
    for i, ph in enumerate(positional):
        ph.set("this", f"__sqlgate_mark_{i}_")
    text = tree.sql(dialect="databricks")
    at = [text.find(f"__sqlgate_mark_{i}_") for i in range(len(positional))]
    if -1 in at:
        raise Unsupported("cannot order the positional (?) parameters here; use :name")
    for k, i in enumerate(sorted(range(len(positional)), key=at.__getitem__), start=1):
        positional[i].set("this", f"{POSITIONAL}{k}")


# current_catalog() / current_schema() / current_database(): the statement's defaults (after a
# session's USE), bound as values so cached statement templates stay valid for every session.
SESSION_FUNCTIONS = {exp.CurrentCatalog: "__sqlgate_catalog",
                      exp.CurrentSchema: "__sqlgate_schema",
                      exp.CurrentDatabase: "__sqlgate_schema"}


def session_functions(tree: exp.Expr, catalog: str,
                       schema: str) -> dict[str, tuple[str | None, str]]:
    """current_catalog()/current_schema() -> bound markers holding the session's values."""
    values = {"__sqlgate_catalog": catalog, "__sqlgate_schema": schema}
    used: dict[str, tuple[str | None, str]] = {}
    for node in list(tree.find_all(*SESSION_FUNCTIONS)):
        name = SESSION_FUNCTIONS[type(node)]
        # keep Spark's result column name (current_catalog()) when the call is unaliased
        label = node.sql(dialect="databricks").lower()
        marker = exp.Placeholder(this=name)
        if isinstance(node.parent, exp.Select) and node.arg_key == "expressions":
            node.replace(exp.alias_(marker, label, quoted=True))
        else:
            node.replace(marker)
        used[name] = (values[name], "VARCHAR")
    return used


def bind_values(tree: exp.Expr, task: StatementTask) -> dict[str, tuple[str | None, str]]:
    """Each parameter marker's (value, DuckDB type); an unbound one or a bad type is 400."""
    given = {p.name: p for p in task.parameters}
    given.update({f"{POSITIONAL}{p.name}": p for p in task.parameters if p.name.isdigit()})
    used: dict[str, tuple[str | None, str]] = {}
    for ph in tree.find_all(exp.Placeholder):
        name = ph.name
        if name not in given:
            shown = f"?{name.removeprefix(POSITIONAL)}" if name.startswith(POSITIONAL) else name
            raise InvalidParameter(
                f"[UNBOUND_SQL_PARAMETER] Found the unbound parameter: {shown}. "
                "SQLSTATE: 42P02", sql_state="42P02")
        p = given[name]
        try:
            # the grammar first: sqlglot's builder reads a prefix ("INT) FROM ..." was INT)
            declared = parameter_type(p.type or "STRING")
            dtype = exp.DataType.build(declared, dialect="databricks").sql("duckdb")
        except (SqlglotError, ValueError) as exc:
            raise InvalidParameter(f"parameter {name}: unknown type {p.type!r}") from exc
        used[name] = (p.value, dtype)
    return used


__all__ = ["POSITIONAL", "SESSION_FUNCTIONS", "bind_values", "number_positional",
           "session_functions"]
