"""Spark's time windows (``window``, ``window_time``) and ``counter_diff``.

``window(ts, '5 minutes'[, slide[, start]])`` is the struct ``{start, end}`` of the tumbling
window a timestamp falls in, aligned to 1970-01-01 plus ``start``; in a GROUP BY it groups
by that struct, and ``window.start``/``window.end`` in the same SELECT read its fields.
``window_time(w)`` is ``w.end`` less a microsecond. A sliding window (a slide shorter than
the duration) puts a row in several windows: as a GROUP BY key the windows are unnested in
FROM (one row per window) and grouped by. Sliding windows elsewhere, ``session_window`` and
tumbling windows of timestamps before the origin are refused.

``counter_diff(value[, start_time]) OVER (PARTITION BY ... ORDER BY ...)`` turns a
cumulative counter into deltas: NULL on the first row, on a reset (the value falls, or the
start time moves forward) and on a NULL value, which later rows then skip; a negative value
or a start time that moves back raises. The previous row is the last earlier one with a
value: ``last_value(... IGNORE NULLS)`` over the rows before the current one.

>>> import sqlglot
>>> tree = sqlglot.parse_one("SELECT counter_diff(c) OVER (ORDER BY t) FROM x",
...                          read="databricks")
>>> "LAST_VALUE(" in _counter_diff(tree).sql("duckdb")
True
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from engine.errors import AnalysisError, Unsupported
from engine.spark.annotation import spark_type

MACROS: tuple[str, ...] = (
    # the start of the tumbling window of ts (Spark's arithmetic is not floored before the
    # origin: refused there)
    # the sliding windows of ts (Spark's TimeWindowing: the window ids from ceil((ts - o) /
    # slide) back over ceil(width / slide) + 1 candidates, those holding ts kept), in micros
    "CREATE MACRO sg_window_list(x, d, s, o) AS list_filter(list_transform(range(0, "
    "-((-d) // s) + 1), lambda sg_n: {'start': o + to_microseconds((-((-x) // s)) * s "
    "+ (sg_n - -((-d) // s)) * s), 'end': o + to_microseconds((-((-x) // s)) * s "
    "+ (sg_n - -((-d) // s)) * s + d)}), lambda sg_w: sg_w.start <= o + to_microseconds(x) "
    "AND o + to_microseconds(x) < sg_w.end)",
    "CREATE MACRO sg_sliding_windows(ts, w, s, o) AS CASE WHEN epoch_us(s) <= 0 OR "
    "epoch_us(s) > epoch_us(w) THEN error('[INVALID_PARAMETER_VALUE] window: the slide must be "
    "positive and at most the duration. SQLSTATE: 22023') ELSE sg_window_list(epoch_us(ts) "
    "- epoch_us(o), epoch_us(w), epoch_us(s), o) END",
    "CREATE MACRO sg_window_start(w, ts, o) AS CASE WHEN ts < o THEN error('[UNSUPPORTED_"
    "FEATURE] window of a timestamp before its origin (1970-01-01) is not supported. "
    "SQLSTATE: 0A000') ELSE time_bucket(w, ts, o) END",
    # c: this row's value, s: its start time; p: the previous counted row's {c, s}
    "CREATE MACRO sg_counter_diff(c, s, p) AS CASE WHEN typeof(s) <> '\"NULL\"' AND NOT "
    "starts_with(typeof(s), 'TIMESTAMP') THEN error('[DATATYPE_MISMATCH.UNEXPECTED_INPUT_"
    "TYPE] counter_diff''s start time must be a TIMESTAMP or TIMESTAMP_NTZ. SQLSTATE: 42K09') "
    "WHEN c IS NULL THEN NULL "
    "WHEN c < 0 THEN error('[INVALID_PARAMETER_VALUE] counter_diff: the counter value must "
    "not be negative. SQLSTATE: 22023') "
    "WHEN p IS NULL THEN NULL "
    "WHEN s < p.s THEN error('[INVALID_PARAMETER_VALUE] counter_diff: the start time must "
    "not decrease. SQLSTATE: 22023') "
    "WHEN c < p.c OR s > p.s THEN NULL ELSE c - p.c END",
)


_TIMESTAMPS = {exp.DType.TIMESTAMP, exp.DType.TIMESTAMPTZ, exp.DType.TIMESTAMPLTZ,
               exp.DType.TIMESTAMPNTZ}


def _type_of(node: exp.Expr) -> exp.DType | None:
    typ = spark_type(node)
    return typ.this if typ is not None else None


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _literal(node: exp.Expr | None, what: str) -> str:
    if isinstance(node, exp.Literal) and node.is_string:
        return str(node.this)
    raise Unsupported(f"[UNSUPPORTED_FEATURE] window needs a literal {what}. SQLSTATE: 0A000")


def _named(name: str) -> bool:
    return name.lower() in ("window", "window_time", "session_window")


def _window_struct(fn: exp.Anonymous, sliding_ok: bool = False) -> exp.Expr:
    """``window(ts, duration[, slide[, start]])``: the struct of a tumbling window, or (with
    `sliding_ok`) the list of the sliding windows a row falls in."""
    args = list(fn.expressions)
    if not 2 <= len(args) <= 4:
        raise Unsupported("[WRONG_NUM_ARGS] window takes 2 to 4 arguments. SQLSTATE: 42605")
    duration = _literal(args[1], "duration")
    slide = _literal(args[2], "slide") if len(args) >= 3 else duration
    if slide.strip() != duration.strip() and not sliding_ok:
        raise Unsupported("[UNSUPPORTED_FEATURE] sliding windows (a slide other than the "
                          "duration) are supported as a GROUP BY key only. SQLSTATE: 0A000")
    width = exp.Cast(this=exp.Literal.string(duration), to=exp.DataType.build("INTERVAL"))
    typ = spark_type(args[0])
    zone = exp.DType.TIMESTAMPNTZ if typ is not None and typ.this == exp.DType.TIMESTAMPNTZ \
        else exp.DType.TIMESTAMPTZ
    ts = exp.Cast(this=args[0], to=exp.DataType(this=zone))
    origin: exp.Expr = exp.Cast(this=exp.Literal.string("1970-01-01 00:00:00"),
                                to=exp.DataType(this=zone))
    if len(args) == 4:
        offset = exp.Cast(this=exp.Literal.string(_literal(args[3], "start time")),
                          to=exp.DataType.build("INTERVAL"))
        origin = exp.Add(this=origin, expression=offset)
    if slide.strip() != duration.strip():
        step = exp.Cast(this=exp.Literal.string(slide), to=exp.DataType.build("INTERVAL"))
        return _call("sg_sliding_windows", ts, width, step, origin)
    start = _call("sg_window_start", width, ts, origin)
    return exp.Struct(expressions=[
        exp.PropertyEQ(this=exp.to_identifier("start"), expression=start),
        exp.PropertyEQ(this=exp.to_identifier("end"),
                       expression=exp.Add(this=start.copy(), expression=width.copy()))])


def _grouped(call: exp.Expr, select: exp.Select) -> bool:
    group = select.args.get("group")
    return group is not None and call.parent is group and select.args.get("from_") is not None


def _field(struct: exp.Expr, name: str) -> exp.Expr:
    return _call("struct_extract", struct, exp.Literal.string(name))


def _time_windows(tree: exp.Expr) -> exp.Expr:
    """window(...) -> its struct; ``window.start`` -> the struct's field; window_time."""
    for node in list(tree.find_all(exp.Anonymous)):
        name = str(node.name).lower()
        if name == "session_window":
            raise Unsupported("[UNSUPPORTED_FEATURE] session_window is not supported by this "
                              "warehouse. SQLSTATE: 0A000")
        if name == "window_time":
            if len(node.expressions) != 1:
                raise Unsupported("[WRONG_NUM_ARGS] window_time takes 1 argument. "
                                  "SQLSTATE: 42605")
            node.replace(exp.Sub(this=_field(node.expressions[0], "end"),
                                 expression=_call("to_microseconds", exp.Literal.number(1))))
    for select in list(tree.find_all(exp.Select)):
        calls = [n for n in select.find_all(exp.Anonymous) if str(n.name).lower() == "window"
                 and n.find_ancestor(exp.Select) is select]
        if len(calls) > 1:
            raise Unsupported("[UNSUPPORTED_FEATURE] one window(...) per SELECT. "
                              "SQLSTATE: 0A000")
        struct = _window_struct(calls[0], sliding_ok=_grouped(calls[0], select)) if calls \
            else None
        if isinstance(struct, exp.Anonymous):  # sliding: one row per window it falls in
            select.append("joins", exp.Join(this=exp.Unnest(
                expressions=[struct], alias=exp.TableAlias(
                    this=exp.to_identifier("sg_windows"),
                    columns=[exp.to_identifier("sg_window")]))))
            struct = exp.column("sg_window")
        sources = {str(t.alias_or_name).lower() for t in select.find_all(exp.Table, exp.Subquery)
                   if t.find_ancestor(exp.Select) is select}
        if "window" in sources:  # window.x is a real table's column there
            continue
        for column in list(select.find_all(exp.Column)):
            if column.find_ancestor(exp.Select) is not select:
                continue
            if column.table.lower() == "window":
                base = struct.copy() if struct is not None else exp.column("window")
                column.replace(exp.alias_(_field(base, column.name), column.name)
                               if isinstance(column.parent, exp.Select)
                               else _field(base, column.name))
            elif struct is not None and not column.table and column.name.lower() == "window":
                column.replace(exp.alias_(struct.copy(), "window")
                               if isinstance(column.parent, exp.Select) else struct.copy())
        if calls and struct is not None:
            calls[0].replace(struct)
    return tree


def _previous(window: exp.Window, value: exp.Expr, start: exp.Expr) -> exp.Window:
    """The last earlier row with a value, as a struct of its value and start time."""
    pair = exp.Struct(expressions=[
        exp.PropertyEQ(this=exp.to_identifier("c"), expression=value.copy()),
        exp.PropertyEQ(this=exp.to_identifier("s"), expression=start.copy())])
    counted = exp.If(this=exp.Not(this=exp.Is(this=value.copy(), expression=exp.null())),
                     true=pair)
    spec = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING",
                          end=exp.Literal.number(1), end_side="PRECEDING")
    return exp.Window(this=exp.IgnoreNulls(this=exp.LastValue(this=counted)),
                      partition_by=[p.copy() for p in window.args.get("partition_by") or []],
                      order=window.args["order"].copy(), spec=spec, over="OVER")


def _counter_diff(tree: exp.Expr) -> exp.Expr:
    """``counter_diff(c[, s]) OVER (...)`` -> sg_counter_diff over the previous row."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Anonymous) and str(node.name).lower() == "counter_diff" and (
                not isinstance(node.parent, exp.Window)):
            raise Unsupported("[UNSUPPORTED_FEATURE] counter_diff is a window function: it "
                              "needs OVER (... ORDER BY ...). SQLSTATE: 0A000")
        fn = node.this if isinstance(node, exp.Window) else None
        if not (isinstance(fn, exp.Anonymous) and str(fn.name).lower() == "counter_diff"):
            return node
        assert isinstance(node, exp.Window)
        if not 1 <= len(fn.expressions) <= 2 or node.args.get("order") is None or (
                node.args.get("spec") is not None):
            raise Unsupported("[UNSUPPORTED_FEATURE] counter_diff takes a value, an optional "
                              "start time, and a window with ORDER BY and no frame. "
                              "SQLSTATE: 0A000")
        value = fn.expressions[0]
        start = fn.expressions[1] if len(fn.expressions) == 2 else exp.null()
        known = _type_of(start)
        if len(fn.expressions) == 2 and known is not None and known not in _TIMESTAMPS:
            # Spark refuses any other start time (sg_counter_diff checks unknown types)
            raise AnalysisError("[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] counter_diff's start "
                                "time must be a TIMESTAMP or TIMESTAMP_NTZ. SQLSTATE: 42K09",
                                sql_state="42K09")
        return _call("sg_counter_diff", value, start, _previous(node, value, start))

    return tree.transform(fix, copy=False)


NAMES: frozenset[str] = frozenset({"counter_diff", "window", "window_time"})
RULES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (_counter_diff, _time_windows)
