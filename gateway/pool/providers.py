"""Which worker provider a pool uses: the one place that knows the implementations.

gateway/pool/provider.py is the interface only; gateway/pool/local.py and gateway/pool/ray.py
implement it. Picking one here keeps their import of the interface from running back into a
circle.
"""

from __future__ import annotations

from gateway.pool.provider import WorkerProvider, WorkerStartFailed
from sqlgate.settings import Settings


def open_provider(settings: Settings) -> WorkerProvider:
    """The provider ``worker_provider`` names; Ray is imported only when chosen."""
    kind = settings.pool.worker_provider
    if kind == "local":
        from gateway.pool.local import LocalProcessProvider

        return LocalProcessProvider(settings)
    if kind == "ray":
        try:
            from gateway.pool.ray import RayProvider
        except ImportError as exc:
            raise WorkerStartFailed(
                f"worker_provider = ray needs Ray (pip install 'sqlgate[scale]'): {exc}") from exc
        return RayProvider(settings)
    raise ValueError(f"setting worker_provider: expected local or ray, got {kind!r}")


__all__ = ["open_provider"]
