"""The prefetch benchmark's same-run ratios, in particular the ceiling on its speedup."""

from __future__ import annotations

from bench.prefetch import ratios


def test_ceiling_is_no_prefetch_over_local_disk_and_bounds_the_share() -> None:
    got = ratios(local_s=0.5, no_prefetch_s=4.0, cold_s=2.0, warm_s=0.75)
    assert got == {
        "prefetch_speedup": 2.0,
        "ceiling_speedup": 8.0,
        "prefetch_share_of_ceiling": 0.25,
        "warm_vs_local": 1.5,
    }


def test_a_cold_scan_as_fast_as_local_disk_reaches_the_whole_ceiling() -> None:
    got = ratios(local_s=0.4, no_prefetch_s=3.6, cold_s=0.4, warm_s=0.4)
    assert got["prefetch_speedup"] == got["ceiling_speedup"] == 9.0
    assert got["prefetch_share_of_ceiling"] == 1.0
