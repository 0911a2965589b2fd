"""`?` parameters numbered in the order written; current_catalog()/current_schema() bound to
the statement's defaults (engine/translate.py)."""

from __future__ import annotations

import pytest

from engine.errors import InvalidParameter
from engine.parameters import number_positional as _number_positional
from engine.parameters import session_functions as _session_functions
from engine.translate import parse


def test_positional_markers_numbered_in_text_order() -> None:
    tree = parse("WITH t AS (SELECT ? AS a) SELECT a, ? FROM t WHERE a = ? LIMIT ?")
    _number_positional(tree)
    text = tree.sql(dialect="databricks")
    at = [text.index(f":__sqlgate_pos_{k}") for k in (1, 2, 3, 4)]
    assert at == sorted(at)


def test_mixing_named_and_positional_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="cannot be mixed"):
        _number_positional(parse("SELECT ?, :x"))


def test_session_functions_become_bound_values() -> None:
    tree = parse("SELECT current_catalog(), upper(current_schema()), current_database() AS d")
    used = _session_functions(tree, "main", "tpch")
    assert used == {"__sqlgate_catalog": ("main", "VARCHAR"),
                    "__sqlgate_schema": ("tpch", "VARCHAR")}
    text = tree.sql(dialect="databricks")
    assert "CURRENT_" not in text.upper().replace("`CURRENT_CATALOG()`", "")
    assert "AS `current_catalog()`" in text and "AS d" in text
