"""The Databricks parameter type grammar, apart from the parser so the gateway can check it.

A named parameter's declared type is validated at the edge (REST and Thrift) and again by
the engine; this module imports nothing but `re`, so importing it loads no engine.
"""

from __future__ import annotations

import re

_SPACE = re.compile(r"\s+")
_UNIT = r"(?:YEAR|MONTH|DAY|HOUR|MINUTE|SECOND)"

# The scalar types of Databricks SQL a parameter may declare, with Spark's aliases; complex
# types (ARRAY, MAP, STRUCT) are not parameter types in the Statement Execution API.
_PARAMETER_TYPE = re.compile(
    r"(?:BOOLEAN|TINYINT|BYTE|SMALLINT|SHORT|INT|INTEGER|BIGINT|LONG|FLOAT|REAL|DOUBLE|DATE"
    r"|TIMESTAMP(?:_NTZ|_LTZ)?|STRING|BINARY|VOID"
    r"|(?:DECIMAL|DEC|NUMERIC)(?:\s*\(\s*[0-9]{1,2}\s*(?:,\s*[0-9]{1,2}\s*)?\))?"
    r"|(?:CHAR|CHARACTER|VARCHAR)\s*\(\s*[0-9]{1,5}\s*\)"
    rf"|INTERVAL\s+{_UNIT}(?:\s+TO\s+{_UNIT})?)",
    re.IGNORECASE | re.ASCII,
)



def parameter_type(text: str) -> str:
    """A parameter type in canonical form (upper case, single spaces); ValueError if it is
    not a Databricks scalar type.

    >>> parameter_type(" decimal( 10, 2 ) "), parameter_type("interval day to second")
    ('DECIMAL(10,2)', 'INTERVAL DAY TO SECOND')
    >>> parameter_type("INT) FROM read_text('/etc/passwd') --")
    Traceback (most recent call last):
    ...
    ValueError: not a Databricks parameter type: "INT) FROM read_text('/etc/passwd') --"
    """
    if not isinstance(text, str) or not _PARAMETER_TYPE.fullmatch(text.strip()):
        raise ValueError(f"not a Databricks parameter type: {text!r}")
    canonical = _SPACE.sub(" ", text.strip().upper())
    return re.sub(r"\s*([(),])\s*", r"\1", canonical)


__all__ = ["parameter_type"]
