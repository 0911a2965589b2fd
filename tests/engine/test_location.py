"""engine.location: name parts are identifiers, locations stay under their catalog's root."""

from __future__ import annotations

import pytest

from engine.errors import AnalysisError, PermissionDenied
from engine.location import Locations, TableName, part_problem, scrub_paths

BAD_PARTS = [
    "", ".", "..", "...", ".hidden", "a/b", "/etc", "a\\b", "..\\x", "%2e%2e", "a%2fb",
    "t?x", "t#x", "a\x00b", "a\nb", "a\x7fb", "a\u2028b", "\ud800", "x" * 256, "é" * 128,
]
GOOD_PARTS = ["nation", "_tmp", "a b", "Ünïcødé", "a-b", "x" * 255, "日本", "a..b"]


@pytest.mark.parametrize("part", BAD_PARTS)
def test_bad_parts_are_refused_at_every_level(part: str) -> None:
    loc = Locations("/lake")
    assert part_problem(part) is not None
    for name in (TableName(part, "s", "t"), TableName("c", part, "t"),
                 TableName("c", "s", part)):
        with pytest.raises(AnalysisError) as info:
            loc.table(name)
        assert info.value.sql_state == "42602"
        assert "/lake" not in info.value.message  # the error names the table, not a path


def test_catalogs_starting_with_underscore_are_reserved() -> None:
    loc = Locations("/lake")
    for call in (lambda: loc.catalog("_sqlgate"),
                 lambda: loc.table(TableName("_sqlgate", "catalog", "t"))):
        with pytest.raises(AnalysisError) as info:
            call()
        assert "reserved" in info.value.message
    assert loc.table(TableName("c", "_s", "_t")) == "/lake/c/_s/_t"


@pytest.mark.parametrize("part", GOOD_PARTS)
def test_identifiers_resolve_under_the_catalog(part: str) -> None:
    loc = Locations("/lake")
    assert loc.table(TableName("c", "s", part)) == f"/lake/c/s/{part}"


def test_object_store_roots() -> None:
    loc = Locations("s3://bucket/some/prefix/")
    assert loc.table(TableName("main", "tpch", "nation")) == "s3://bucket/some/prefix/main/tpch/nation"
    assert loc.fs_path(loc.catalog("main")) == "bucket/some/prefix/main"
    with pytest.raises(AnalysisError):
        loc.table(TableName("..", "x", "y"))


def test_data_files_outside_the_lake_are_refused() -> None:
    name = TableName("main", "s", "t")
    for root, table in (("/lake", "/lake/main/s/t"), ("s3://b/lake", "s3://b/lake/main/s/t")):
        loc = Locations(root)
        assert loc.data_file(name, table, "part-0.parquet") == f"{table}/part-0.parquet"
        assert loc.data_file(name, table, "p=1/part-0.parquet") == f"{table}/p=1/part-0.parquet"
        # another table of the lake is allowed (shallow clones name their source's files)
        assert loc.data_file(name, table, "../u/x.parquet") == f"{root}/main/s/u/x.parquet"
        for path in ("../../../../outside/x.parquet", "/etc/passwd", "file:///etc/passwd",
                     "s3://other-bucket/x.parquet", f"{root}/../x.parquet"):
            with pytest.raises(PermissionDenied) as info:
                loc.data_file(name, table, path)
            assert "`main`.`s`.`t`" in info.value.message


def test_scrub_takes_the_lake_out_of_messages() -> None:
    loc = Locations("/srv/lake")
    assert loc.scrub("Not found: /srv/lake/main/x/_delta_log") == (
        "Not found: <lake>/main/x/_delta_log")
    assert loc.scrub("url file:///srv/lake/a") == "url <lake>/a"
    assert scrub_paths("IO Error: cannot open /srv/cache/stage/1-ab/x.parquet: gone") == (
        "IO Error: cannot open <path>: gone")
    assert scrub_paths("1 / 2 and a/b stay") == "1 / 2 and a/b stay"
