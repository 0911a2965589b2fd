"""Where a three-level name lives: the one place a table name becomes a location.

Every reader and writer of the lake (DuckDB scans, the Delta log read and written by
deltalake, SHOW/DESCRIBE/information_schema, CTAS/INSERT, imports and the demo) asks
`Locations` for a path; nothing else joins a name into a path. Two checks keep a name
inside the lake, because deltalake reads and writes the log outside DuckDB's own
``allowed_directories``:

- each name part is an identifier, not a path: never empty, ``.``, ``..`` or any part that
  starts with a dot, no ``/`` or ``\\``, none of ``%``, ``?``, ``#`` (deltalake turns a
  local path into a URL: ``%2e%2e`` was read as ``..``, and ``#``/``?`` cut the path
  short), no control characters, at most 255 bytes (Unity Catalog forbids more: any
  ``.``, spaces);
- the joined location, normalised, stays under its catalog's root (a local path, or the key
  of an ``s3://`` URI), and so does every data file the Delta log points to.

Errors name the table, never a path; `Locations.scrub` takes the lake's own paths out of
messages that libraries wrote.

>>> loc = Locations("/lake")
>>> loc.table(TableName("main", "tpch", "nation"))
'/lake/main/tpch/nation'
>>> part_problem("..")
"a name part may not start with '.'"
"""

from __future__ import annotations

import os
import posixpath
import re
import unicodedata
from dataclasses import dataclass

from engine.errors import AnalysisError, PermissionDenied

# A file system refuses longer path components (NAME_MAX); Databricks caps identifiers too.
_MAX_PART_BYTES = 255
# Unicode categories that never belong in a directory name: control, surrogate (cannot be
# encoded for the file system), unassigned, and the line/paragraph separators.
_BAD_CATEGORIES = frozenset({"Cc", "Cs", "Cn", "Zl", "Zp"})
# Path separators, and what a URL gives meaning to (percent escapes, query, fragment).
_PATH_CHARS = ("/", "\\", "%", "?", "#")


@dataclass(frozen=True)
class TableName:
    """A resolved three-level name."""

    catalog: str
    schema: str
    table: str

    def __str__(self) -> str:
        return f"{self.catalog}.{self.schema}.{self.table}"

    def quoted(self) -> str:
        """The name with each part in backticks, as Databricks prints it in errors."""
        return ".".join(_quote(p) for p in (self.catalog, self.schema, self.table))


def _quote(part: str) -> str:
    shown = "".join(ch if unicodedata.category(ch) not in _BAD_CATEGORIES else
                    f"\\u{ord(ch):04x}" for ch in part)
    return "`" + shown.replace("`", "``") + "`"


def part_problem(part: str) -> str | None:
    """Why `part` cannot be one level of a name, or None when it can.

    >>> part_problem("lineitem") is None, part_problem("a/b")
    (True, "a name part may not contain '/'")
    """
    if not part:
        return "a name part may not be empty"
    if part.startswith("."):
        return "a name part may not start with '.'"
    for ch in _PATH_CHARS:
        if ch in part:
            return f"a name part may not contain {ch!r}"
    if any(unicodedata.category(ch) in _BAD_CATEGORIES for ch in part):
        return "a name part may not contain control characters"
    if len(part.encode("utf-8", "surrogatepass")) > _MAX_PART_BYTES:
        return f"a name part may not be longer than {_MAX_PART_BYTES} bytes"
    return None


def _invalid(shown: str, problem: str, what: str = "table") -> AnalysisError:
    return AnalysisError(
        f"[INVALID_IDENTIFIER] The name {shown} is not a valid {what} name: {problem}. "
        "SQLSTATE: 42602", sql_state="42602")


def _problem(part: str, level: int) -> str | None:
    if level == 0 and part.startswith("_"):
        # the lake root's own folders (`_sqlgate`: the catalog's metadata) are not catalogs
        return "a catalog name may not start with '_' (reserved)"
    return part_problem(part)


def check_name(name: TableName) -> None:
    """Raise AnalysisError (42602) naming the table when a part is not an identifier."""
    for level, part in enumerate((name.catalog, name.schema, name.table)):
        problem = _problem(part, level)
        if problem is not None:
            raise _invalid(name.quoted(), problem)


def check_parts(*parts: str) -> None:
    """The same check for a catalog, or a catalog and schema (SHOW ... IN, listings)."""
    for level, part in enumerate(parts):
        problem = _problem(part, level)
        if problem is not None:
            what = "catalog" if len(parts) == 1 else "schema"
            raise _invalid(".".join(_quote(p) for p in parts), problem, what)


class Locations:
    """Joins checked names under one lake root: a local directory or ``s3://bucket/prefix``.

    Each catalog's root is ``<lake>/<catalog>``; a name resolves to
    ``<lake>/<catalog>/<schema>/<table>``, and the result is checked, after normalisation,
    to lie under its catalog's root (the part check makes that true; the second check keeps
    it true should the part rules or the layout ever change).
    """

    def __init__(self, root: str) -> None:
        self.remote = "://" in root
        if self.remote:
            scheme, _, rest = root.partition("://")
            self.scheme = scheme + "://"
            self.root = self.scheme + rest.rstrip("/")
        else:
            self.scheme = ""
            self.root = os.path.normpath(os.path.abspath(root))

    def _norm(self, path: str) -> str:
        if self.remote:
            scheme, _, rest = path.partition("://")
            bucket, _, key = rest.partition("/")
            key = posixpath.normpath("/" + key).lstrip("/")
            return f"{scheme}://{bucket}/{key}".rstrip("/")
        return os.path.normpath(path)

    def _under(self, path: str, base: str) -> bool:
        return path.startswith(base.rstrip("/") + "/")

    def catalog(self, catalog: str) -> str:
        """The root of one catalog."""
        check_parts(catalog)
        return self._inside(f"{self.root}/{catalog}", self.root, catalog)

    def schema(self, catalog: str, schema: str) -> str:
        """The directory of one schema."""
        check_parts(catalog, schema)
        return self._inside(f"{self.root}/{catalog}/{schema}", self.catalog(catalog),
                            f"{catalog}.{schema}")

    def table(self, name: TableName) -> str:
        """Where a table's data and ``_delta_log`` live."""
        check_name(name)
        return self._inside(f"{self.root}/{name.catalog}/{name.schema}/{name.table}",
                            self.catalog(name.catalog), name.quoted())

    def _inside(self, joined: str, base: str, shown: str) -> str:
        path = self._norm(joined)
        if path != joined or not self._under(path, base):
            raise PermissionDenied(
                f"[INSUFFICIENT_PERMISSIONS] {shown} resolves outside its catalog.")
        return path

    def data_file(self, name: TableName, table_uri: str, path: str) -> str:
        """A data file named in a table's Delta log (relative, absolute or a URI), resolved.

        The log may name files anywhere (shallow clones do); a file outside the lake is
        refused, so a crafted log cannot make a scan read beside the lake.
        """
        if "://" in path and not path.startswith("file://"):
            uri = path
        elif path.startswith(("/", "file://")):
            uri = path.removeprefix("file://") if not self.remote else path
        else:
            uri = f"{table_uri.rstrip('/')}/{path}"
        resolved = self._norm(uri)
        if not self._under(resolved, self.root):
            raise PermissionDenied(
                f"[INSUFFICIENT_PERMISSIONS] table {name.quoted()} names a data file outside "
                "the lake.")
        return resolved

    def fs_path(self, location: str) -> str:
        """A location as the pyarrow file system wants it (no scheme for object stores)."""
        return location.split("://", 1)[1] if self.remote else location

    def scrub(self, text: str) -> str:
        """A library's message with the lake's locations taken out.

        Paths are replaced by what they name inside the lake (``main/tpch/nation/...``
        becomes ``<lake>/main/tpch/nation/...``), so an error never shows where the lake is.
        """
        roots = {self.root, self.fs_path(self.root)}
        if not self.remote:
            roots |= {"file://" + self.root, os.path.realpath(self.root)}
        for root in sorted(roots, key=len, reverse=True):
            text = text.replace(root, "<lake>")
        return text


_ABSOLUTE = re.compile(r"(?<![\w<])(?:file://)?(?:/[\w.\-+@%=~]+){2,}/?")


def scrub_paths(text: str) -> str:
    """Any absolute local path left in a message replaced by ``<path>``.

    >>> scrub_paths("No such file: /srv/lake/x/part-0.parquet (os error 2)")
    'No such file: <path> (os error 2)'
    """
    return _ABSOLUTE.sub("<path>", text)


__all__ = ["Locations", "TableName", "check_name", "check_parts", "part_problem", "scrub_paths"]
