"""Statement fingerprints for the scheduler, from the engine's public surface.

The parsing lives in `engine.fingerprint` (the gateway never imports sqlglot); this module
keeps the name the pool and scheduler import.

>>> fingerprint("select * from t where id = 42") == fingerprint("SELECT *  FROM t WHERE id=7")
True
"""

from __future__ import annotations

from engine import fingerprint

__all__ = ["fingerprint"]
