"""The Ray worker provider (gateway/pool/ray.py): its selection, and the real thing on a
3-node Ray cluster in a network namespace (tests/gateway/pool/netns_ray.py)."""

from __future__ import annotations

import pytest

from gateway.pool.providers import open_provider
from sqlgate.settings import Settings
from tests.fixtures import netns


def test_the_setting_picks_the_provider() -> None:
    from gateway.pool.local import LocalProcessProvider

    assert isinstance(open_provider(Settings()), LocalProcessProvider)
    with pytest.raises(ValueError, match="worker_provider"):
        open_provider(Settings().replace(worker_provider="kubernetes"))


def test_ray_is_chosen_without_connecting() -> None:
    pytest.importorskip("ray", reason="needs sqlgate[scale]")
    from gateway.pool.ray import RayProvider

    provider = open_provider(Settings().replace(worker_provider="ray",
                                                ray_address="127.0.0.1:1"))
    assert isinstance(provider, RayProvider)
    assert provider.metrics() == {"ray_standby": 0}  # nothing started before prepare()


@pytest.mark.slow
@pytest.mark.cluster
def test_three_node_ray_cluster_in_a_namespace() -> None:
    """Spread over nodes, node loss, refill, idle shutdown, ``sqlgate.worker`` — on S3."""
    netns.require()
    pytest.importorskip("ray", reason="needs sqlgate[scale]")
    result = netns.pytest_session(["tests/gateway/pool/netns_ray.py"], timeout=480)
    netns.check(result)
