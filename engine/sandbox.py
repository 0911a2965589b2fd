"""The first line of the sandbox: refuse, on the parsed statement, anything but catalog reads.

A statement may read catalog tables; DDL, DML and GRANTs on catalog objects are run by
their own modules (engine.commands), which check the queries inside them here too.
Reading files or URLs, COPY, ATTACH, INSTALL/LOAD, SET/PRAGMA, EXPORT/IMPORT, CALL and the
like are refused with PermissionDenied. The second line is inside DuckDB itself: external
access disabled and the configuration locked once the engine is set up (see engine.engine).
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import TokenError
from sqlglot.tokens import Tokenizer, TokenType

from engine.errors import PermissionDenied

# Statement keywords refused before parsing: some (ATTACH, EXPORT DATABASE) do not even
# parse in the Databricks dialect, and a clear permission error beats a parse error.
_REFUSED_STATEMENTS = frozenset(
    {
        "ATTACH", "DETACH", "INSTALL", "LOAD", "FORCE", "SET", "RESET", "PRAGMA", "COPY",
        "EXPORT", "IMPORT", "CALL", "CHECKPOINT", "ANALYZE", "USE", "SECRET",
        "CACHE", "UNCACHE", "REFRESH", "MSCK", "ADD", "LIST", "RESTORE",
    }
)
# Functions that reach outside the catalog: files, URLs, DuckDB's own state and settings.
_REFUSED_FUNCTION_PREFIXES = (
    "read_", "parquet_", "glob", "sniff_", "duckdb_", "pragma_", "iceberg_", "delta_scan",
    "query", "sqlite_", "postgres_", "mysql_", "http", "load_", "which_secret", "icu_",
    "getenv", "current_setting", "shell", "system", "sql_auto_complete", "test_",
    "json_execute", "import_", "export_", "checkpoint", "force_checkpoint", "enable_",
    "disable_", "set_", "reset_", "install_", "repository", "ducklake", "summary",
)
_REFUSED_EXPRESSIONS: tuple[type[exp.Expr], ...] = (
    exp.Copy, exp.Set, exp.Pragma, exp.Command, exp.Use, exp.Drop, exp.Alter, exp.Delete,
    exp.Update, exp.Merge, exp.ReadCSV, exp.Attach, exp.Detach, exp.Export,
    exp.LoadData, exp.Cache, exp.Uncache, exp.Refresh, exp.Transaction, exp.Commit,
    exp.Rollback,
)


def first_keyword(sql: str) -> str | None:
    """The first word of a statement, upper case, skipping comments and parentheses."""
    try:
        tokens = Tokenizer().tokenize(sql)
    except TokenError:  # the parser reports it with line and column
        return None
    for token in tokens:
        if token.token_type in (TokenType.L_PAREN, TokenType.SEMICOLON):
            continue
        return token.text.upper()
    return None


def check_text(sql: str) -> None:
    """Refuse statements by their leading keyword, before parsing."""
    word = first_keyword(sql)
    if word in _REFUSED_STATEMENTS:
        raise PermissionDenied(
            f"[INSUFFICIENT_PERMISSIONS] {word} statements are not allowed: this warehouse "
            "only reads and writes catalog tables."
        )
    if word == "CREATE" and "SECRET" in sql.upper().split()[:4]:
        raise PermissionDenied("[INSUFFICIENT_PERMISSIONS] CREATE SECRET is not allowed.")


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return str(node.sql_name()).lower()


def looks_like_path(name: str) -> bool:
    """A table name that is really a file path or URL (``'/etc/passwd'``, ``s3://...``)."""
    lowered = name.lower()
    return (
        "/" in name
        or "\\" in name
        or "://" in name
        or lowered.endswith((".csv", ".parquet", ".json", ".txt", ".tsv", ".gz", ".db"))
        or lowered.startswith("~")
    )


def check_tree(tree: exp.Expr) -> None:
    """Refuse a parsed statement that reaches outside the catalog."""
    for node in tree.walk():
        if isinstance(node, _REFUSED_EXPRESSIONS):
            kind = type(node).__name__.upper()
            raise PermissionDenied(
                f"[INSUFFICIENT_PERMISSIONS] {kind} is not allowed: this warehouse only reads "
                "and writes catalog tables."
            )
        if isinstance(node, exp.Table):
            _check_table(node)
        elif isinstance(node, exp.Func):
            name = _function_name(node)
            if name.startswith(_REFUSED_FUNCTION_PREFIXES):
                raise PermissionDenied(
                    f"[INSUFFICIENT_PERMISSIONS] function {name} is not allowed: it reads "
                    "outside the catalog."
                )


# Spark's generators, which Databricks allows in FROM (engine.spark.generators translates
# them); every other table function stays refused.
_TABLE_FUNCTIONS: tuple[type[exp.Expr], ...] = (exp.Explode, exp.Posexplode, exp.Inline,
                                                exp.Stack)


def _allowed_table_function(target: exp.Expr) -> bool:
    if isinstance(target, exp.Anonymous):
        return str(target.this).lower() == "range"
    return isinstance(target, _TABLE_FUNCTIONS)


def _check_table(node: exp.Table) -> None:
    target = node.this
    if _allowed_table_function(target):
        return
    if not isinstance(target, exp.Identifier):
        # a table function in FROM: read_csv(...), range(...), a URL, ...
        what = target.sql("databricks") if target is not None else "?"
        raise PermissionDenied(
            f"[INSUFFICIENT_PERMISSIONS] table function {what} is not allowed: only catalog "
            "tables may be read."
        )
    parts = [p.name for p in node.parts]
    if any(looks_like_path(p) for p in parts) or (
        # Spark's parquet.`/path` / csv.`/path` file-reading syntax
        len(parts) >= 2 and parts[-2].lower() in ("parquet", "csv", "json", "delta", "text",
                                                   "orc", "avro", "binaryfile")
        and looks_like_path(parts[-1])
    ):
        raise PermissionDenied(
            f"[INSUFFICIENT_PERMISSIONS] reading the file {'.'.join(parts)} is not allowed: "
            "only catalog tables may be read."
        )


__all__ = ["check_text", "check_tree", "looks_like_path"]
