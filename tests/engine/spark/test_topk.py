"""approx_top_k (engine/spark/topk.py): exact counts, refused ties and limits."""

from __future__ import annotations

import pytest

from engine.spark import topk


def _ints(*values: int) -> list[tuple[str, int]]:
    return [("int", v) for v in values]


def test_counts_highest_first() -> None:
    order = topk._order(_ints(0, 1, 1, 2, 2, 2), 16384)
    assert [(k[1], c) for k, c in order] == [(2, 3), (1, 2), (0, 1)]


def test_ties_whose_order_is_javas_are_refused() -> None:
    ranked = topk._order(_ints(0, 0, 1, 1, 2), 16384)
    with pytest.raises(ValueError, match="APPROX_TOP_K_TIE"):
        topk._untied(ranked, 5)
    with pytest.raises(ValueError, match="APPROX_TOP_K_TIE"):
        topk._untied(ranked, 1)  # which of 0 and 1 comes first decides the answer
    topk._untied(topk._order(_ints(0, 0, 0, 1, 1, 2), 16384), 3)


def test_past_capacity_is_refused() -> None:
    with pytest.raises(ValueError, match="APPROX_TOP_K_PURGE"):
        topk._order(_ints(*range(10)), topk._max_map_size(3))
    assert len(topk._order(_ints(*range(3)), topk._max_map_size(3))) == 3


def test_argument_checks() -> None:
    with pytest.raises(ValueError, match="APPROX_TOP_K_NON_POSITIVE_ARG"):
        topk._check(0, 10)
    with pytest.raises(ValueError, match="APPROX_TOP_K_MAX_ITEMS_TRACKED_LESS_THAN_K"):
        topk._check(5, 3)
    with pytest.raises(ValueError, match="APPROX_TOP_K_NULL_ARG"):
        topk._check(None, 3)
