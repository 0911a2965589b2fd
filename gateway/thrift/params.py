"""Native query parameters (`TSparkParameter`) -> the contract's `Parameter`.

Values are bound by the engine, never spliced into the SQL text. Named markers (`:p`) keep
their names; positional markers (`?`) are named by their 1-based ordinal.

>>> from databricks.sql.thrift_api.TCLIService import ttypes
>>> v = ttypes.TSparkParameterValue(stringValue="1")
>>> bind_parameters([ttypes.TSparkParameter(name="p", type="INT", value=v)])
(Parameter(name='p', value='1', type='INT'),)
"""

from __future__ import annotations

from collections.abc import Sequence

from databricks.sql.thrift_api.TCLIService import ttypes

from engine.paramtypes import parameter_type
from gateway.errors import InvalidParameter
from sqlgate.types import Parameter


def _value(v: ttypes.TSparkParameterValue | None) -> str | None:
    if v is None:
        return None
    if v.stringValue is not None:
        return str(v.stringValue)
    if v.booleanValue is not None:
        return "true" if v.booleanValue else "false"
    if v.doubleValue is not None:
        return repr(float(v.doubleValue))
    return None


def bind_parameters(params: Sequence[ttypes.TSparkParameter] | None) -> tuple[Parameter, ...]:
    """The request's parameters as contract `Parameter`s (VOID means NULL)."""
    out: list[Parameter] = []
    for i, p in enumerate(params or ()):
        if p.arguments:
            raise InvalidParameter(
                f"Parameter {p.name or p.ordinal}: compound (ARRAY/MAP/STRUCT) parameters "
                "are not supported")
        # The connector marks a positional parameter with `ordinal=True` (a flag, not a
        # number) and no name: its position in the list is its ordinal.
        name = p.name or str(i + 1)
        declared = p.type or "STRING"
        try:
            typ = "VOID" if declared.upper() == "NULL" else parameter_type(declared)
        except ValueError as exc:
            raise InvalidParameter(f"Parameter {name}: {p.type!r} is not a Databricks SQL "
                                   "type") from exc
        value = None if typ == "VOID" else _value(p.value)
        out.append(Parameter(name=name, value=value, type="STRING" if typ == "VOID" else typ))
    return tuple(out)


__all__ = ["bind_parameters"]
