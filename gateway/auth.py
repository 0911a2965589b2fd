"""Bearer-token authentication: tokens map to a workspace and a user; only hashes are kept.

Three sources, all stored as ``sha256(token)``:

- ``settings.gateway.token`` (``SQLGATE_TOKEN``): one token for the ``default`` workspace;
- ``settings.gateway.tokens_file``: many tenants. JSON or TOML, keyed by the hex sha256 of
  the token (a plain ``token`` entry is hashed on load, for convenience in tests)::

      # tokens.toml
      [tokens.9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08]
      workspace = "acme"
      user = "alice@acme.com"
      catalogs = ["acme", "shared"]   # the workspace's catalogs; absent: all of them

  Every statement of the workspace sees only its catalogs (the engine's catalog enforces
  it: another catalog is "not found"); tokens of one workspace must agree on the list;
  or ``{"tokens": {"<sha256>": {"workspace": "acme", "user": "alice"}}}`` in JSON;
- neither: a random token is generated, returned once by `Authenticator.from_settings` so the
  server can print it, and only its hash is kept.

>>> auth = Authenticator({hash_token("s3cret"): Principal("default", "me")})
>>> auth.authenticate("Bearer s3cret").workspace
'default'
"""

from __future__ import annotations

import hashlib
import json
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import Unauthenticated
from sqlgate.settings import GatewaySettings

DEFAULT_WORKSPACE = "default"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the workspace (tenant) that owns their statements, and a user name."""

    workspace: str
    user: str = "token"
    # the catalogs the workspace may use, first is its default; None: every catalog
    catalogs: tuple[str, ...] | None = None


def hash_token(token: str) -> str:
    """The hex sha256 of a token, the only form tokens are kept in."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _load_tokens_file(path: str) -> dict[str, Principal]:
    text = Path(path).read_text(encoding="utf-8")
    data = json.loads(text) if path.endswith(".json") else tomllib.loads(text)
    entries = data.get("tokens", data) if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise ValueError(f"tokens file {path}: expected a table of token hashes")
    out: dict[str, Principal] = {}
    for key, spec in entries.items():
        if not isinstance(spec, Mapping) or not isinstance(spec.get("workspace"), str):
            raise ValueError(f"tokens file {path}: entry {key[:8]}… needs a 'workspace'")
        digest = hash_token(spec["token"]) if isinstance(spec.get("token"), str) else key.lower()
        cats = spec.get("catalogs")
        if cats is not None and (not isinstance(cats, list)
                                 or not all(isinstance(c, str) and c for c in cats)):
            raise ValueError(f"tokens file {path}: entry {key[:8]}…: 'catalogs' must be a "
                             "list of catalog names")
        out[digest] = Principal(spec["workspace"], str(spec.get("user", "token")),
                                tuple(cats) if cats is not None else None)
    bound: dict[str, tuple[str, ...] | None] = {}
    for p in out.values():
        if bound.setdefault(p.workspace, p.catalogs) != p.catalogs:
            raise ValueError(f"tokens file {path}: the tokens of workspace {p.workspace!r} "
                             "list different catalogs")
    return out


class Authenticator:
    """Checks ``Authorization: Bearer <token>`` headers against known token hashes."""

    def __init__(self, tokens: Mapping[str, Principal]) -> None:
        self._tokens = dict(tokens)
        # a workspace is bound if any of its tokens binds it (SQLGATE_TOKEN never unbinds)
        self._catalogs: dict[str, tuple[str, ...] | None] = {}
        for p in self._tokens.values():
            if self._catalogs.get(p.workspace) is None:
                self._catalogs[p.workspace] = p.catalogs

    @classmethod
    def from_settings(cls, gateway: GatewaySettings) -> tuple[Authenticator, str | None]:
        """The authenticator for these settings, and the generated token if one was made."""
        tokens: dict[str, Principal] = {}
        generated: str | None = None
        if gateway.tokens_file:
            tokens.update(_load_tokens_file(gateway.tokens_file))
        if gateway.token:
            tokens[hash_token(gateway.token)] = Principal(DEFAULT_WORKSPACE)
        if not tokens:
            generated = "dapi" + secrets.token_hex(16)
            tokens[hash_token(generated)] = Principal(DEFAULT_WORKSPACE)
        return cls(tokens), generated

    @property
    def workspaces(self) -> list[str]:
        """Every workspace some token belongs to, sorted."""
        return sorted({p.workspace for p in self._tokens.values()})

    def catalogs(self, workspace: str) -> tuple[str, ...] | None:
        """The catalogs a workspace may use; None when it is not bound (every catalog)."""
        return self._catalogs.get(workspace)

    def authenticate(self, header: str | None) -> Principal:
        """The principal for an Authorization header value, or Unauthenticated."""
        if not header:
            raise Unauthenticated("Missing Authorization header: expected 'Bearer <token>'")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("Invalid Authorization header: expected 'Bearer <token>'")
        # Looking up the *hash* leaks nothing useful through timing: an attacker controls
        # the token, not its digest's prefix.
        found = self._tokens.get(hash_token(token))
        if found is None:
            raise Unauthenticated("Invalid access token.")
        return found


__all__ = ["DEFAULT_WORKSPACE", "Authenticator", "Principal", "hash_token"]
