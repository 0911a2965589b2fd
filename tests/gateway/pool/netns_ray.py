"""The Ray worker provider on a real 3-node Ray cluster, inside a network namespace.

Run by tests/gateway/pool/test_ray.py through tests.fixtures.netns; on its own it skips.
The multi-host configuration: the lake and the result store on S3 (moto), workers as
actors spread over the nodes. Checked: statements spread over the nodes and name their
worker and node; a lost node (its raylet SIGKILLed) fails only the statement running
there, within seconds (the Flight side, not Ray's GCS), statements sent meanwhile run on
other nodes, the others finish, and the pool refills on the nodes left; a hung worker
(SIGSTOP: no connection closes) is taken out by the heartbeat; idle shutdown kills
the actors; the real gateway answers with ``sqlgate.worker``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.raycluster import RayCluster, ray_cluster
from engine.lake import write_tpch
from gateway.core.backend import StatementFailed
from gateway.pool.ray import RayWorker
from gateway.pool.warehouse import STOPPED, WarehousePool
from sqlgate.settings import Settings
from sqlgate.types import StatementTask
from tests.fixtures import netns
from tests.fixtures.s3 import s3_engine_settings
from tests.fixtures.server import TOKEN, free_socket, running_gateway, server_settings
from tests.fixtures.waiting import until
from tests.gateway.pool.test_warehouse import Events

pytestmark = netns.inside_only

SLOW_SQL = ("SELECT count(*) FROM main.tpch.lineitem a, main.tpch.lineitem b "
            "WHERE a.l_orderkey < b.l_orderkey")
QUICK_SQL = "SELECT count(*) AS n FROM main.tpch.nation"
# Long enough (~0.1-0.5 s) that six at once are in flight together and spread over workers.
SPREAD_SQL = ("SELECT count(*) AS n FROM main.tpch.lineitem a JOIN main.tpch.orders o "
              "ON a.l_orderkey = o.o_orderkey WHERE a.l_comment LIKE '%a%'")


@pytest.fixture(scope="module")
def cluster() -> Iterator[RayCluster]:
    with ray_cluster(nodes=3, cpus=2) as c:
        yield c


@pytest.fixture(scope="module")
def multi_host(s3_server: str, tmp_path_factory: pytest.TempPathFactory,
               cluster: RayCluster) -> Settings:
    """Lake and results in one moto bucket; workers are Ray actors of 1 CPU each."""
    from tests.fixtures.s3 import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, s3_client

    bucket = {"endpoint_url": s3_server, "bucket": "multihost", "access_key_id": ACCESS_KEY_ID,
              "secret_access_key": SECRET_ACCESS_KEY, "region": REGION}
    s3_client(bucket).create_bucket(Bucket="multihost")
    engine = s3_engine_settings(bucket, threads=1, memory_limit="512MB",
                                cache_dir=str(tmp_path_factory.mktemp("cache")))
    write_tpch(engine, 0.01, "main", "tpch")
    return Settings(engine=engine).replace(
        results="s3://multihost/results", results_endpoint_url=s3_server,
        results_access_key_id=ACCESS_KEY_ID, results_secret_access_key=SECRET_ACCESS_KEY,
        signing_secret="ray-test", worker_provider="ray", ray_address=cluster.address,
        ray_worker_cpus=1.0, ray_standby_workers=1, min_workers=3, max_workers=3,
        worker_concurrency=2, heartbeat_s=0.5, worker_start_timeout_s=60.0,
        stop_grace_s=2.0, shutdown_grace_s=2.0, auto_stop_s=0.0, reserve_short_workers=False)


def _ended(pid: int) -> bool:
    """Whether process `pid` exited; a zombie counts (the namespace's first process, which
    inherits orphans, does not reap them)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")


def _run(pool: WarehousePool, sid: str, sql: str) -> asyncio.Future[Any]:
    return asyncio.ensure_future(pool.run(StatementTask(sid, sql), Events()))


def test_spread_node_loss_refill_and_idle_shutdown(multi_host: Settings,
                                                   cluster: RayCluster) -> None:
    async def body() -> None:
        pool = WarehousePool(multi_host)
        await pool.start_background()
        try:
            await until(lambda: pool.num_workers == 3, timeout=120)
            workers = [m.worker for m in pool._members]
            assert all(isinstance(w, RayWorker) for w in workers)
            assert len({w.node for w in workers}) == 3, "SPREAD puts one worker per node"
            results = await asyncio.gather(*[_run(pool, f"q{i}", SPREAD_SQL) for i in range(6)])
            assert len({r.batches[0].column(0)[0].as_py() for r in results}) == 1
            ran_on = {r.manifest.extra["worker"]["node"] for r in results}
            assert ran_on == {w.node for w in workers}, "statements spread over the nodes"

            # Node loss: one slow statement per worker, then a node other than the head
            # (it holds the cluster's state) goes away with the statement running there.
            head = min(cluster.manager_ports, key=cluster.manager_ports.__getitem__)
            slow = {f"s{i}": _run(pool, f"s{i}", SLOW_SQL) for i in range(3)}
            await until(lambda: all(len(m.calls) == 1 for m in pool._members), timeout=60)
            member = next(m for m in pool._members if m.worker.node != head)
            victim, lost = next(iter(member.calls)), member.worker.node
            actor_pid = member.worker.handle.pid  # one PID namespace: visible from here
            await asyncio.sleep(1.0)
            cluster.kill_node(lost)
            began = time.monotonic()
            # The actor ends itself with its raylet; statements sent from now on never
            # reach it and must run elsewhere (refused, then retried: nothing ran there).
            await until(lambda: _ended(actor_pid), timeout=10)
            quick = [_run(pool, f"o{i}", QUICK_SQL) for i in range(4)]
            with pytest.raises(StatementFailed) as info:
                await slow[victim]
            detected = time.monotonic() - began
            print(f"node loss: the statement running there failed after {detected:.2f} s: "
                  f"{info.value.error.message}")
            # Seen by the Flight stream breaking (the actor exits with its raylet), not by
            # Ray's GCS declaring the node dead (21-45 s here under load before this).
            assert detected < 10, f"node loss took {detected:.1f} s to notice"
            assert info.value.error.error_code == "ABORTED"
            assert lost[:12] in info.value.error.message
            answers = await asyncio.gather(*quick)
            assert all(r.batches[0].to_pydict() == {"n": [25]} for r in answers)
            assert all(r.manifest.extra["worker"]["node"] != lost for r in answers)
            survivors = [f for sid, f in slow.items() if sid != victim]
            failed = [f for f in survivors if f.done() and f.exception() is not None]
            assert not failed, "only the lost node's statement failed"
            for f in survivors:
                f.cancel()
            await asyncio.gather(*survivors, return_exceptions=True)
            # The pool refills on the nodes left, and runs statements there.
            await until(lambda: pool.num_workers == 3 and all(
                m.worker.node != lost for m in pool._members), timeout=90)
            after = await _run(pool, "after", QUICK_SQL)
            assert after.manifest.extra["worker"]["node"] != lost

            # A host that vanishes without closing its connections (here: the actor's
            # process frozen by SIGSTOP; Ray sees nothing wrong): the heartbeat's three
            # missed pings (heartbeat_s = 0.5) take it out and fail its statement.
            frozen = _run(pool, "frozen", SLOW_SQL)
            await until(lambda: any("frozen" in m.calls for m in pool._members), timeout=30)
            hung = next(m for m in pool._members if "frozen" in m.calls)
            os.kill(hung.worker.handle.pid, signal.SIGSTOP)
            began = time.monotonic()
            with pytest.raises(StatementFailed) as info:
                await frozen
            silent = time.monotonic() - began
            print(f"hung worker: its statement failed after {silent:.2f} s: "
                  f"{info.value.error.message}")
            assert silent < 15, f"a hung worker took {silent:.1f} s to notice"
            assert "heartbeats" in info.value.error.message
            await until(lambda: pool.num_workers == 3 and hung not in pool._members,
                        timeout=90)
            handles = [m.worker.handle for m in pool._members
                       if isinstance(m.worker, RayWorker)]
            await pool.stop()  # what idle shutdown does: every actor ends
            assert pool.state == STOPPED
            await until(lambda: all(h.poll() is not None for h in handles), timeout=30)
        finally:
            await pool.aclose()

    asyncio.run(body())


def test_gateway_names_worker_and_node(multi_host: Settings, tmp_path: Path) -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    settings = server_settings(multi_host.engine, tmp_path / "unused", port).replace(
        **{k: getattr(multi_host.pool, k) for k in (
            "worker_provider", "ray_address", "ray_worker_cpus", "ray_standby_workers")},
        results=multi_host.fetch.results,
        results_endpoint_url=multi_host.fetch.results_endpoint_url,
        results_access_key_id=multi_host.fetch.results_access_key_id,
        results_secret_access_key=multi_host.fetch.results_secret_access_key,
        min_workers=1, max_workers=2)
    with running_gateway(settings, sock=sock) as url:
        answer = httpx.post(f"{url}/api/2.0/sql/statements", timeout=120,
                            headers={"Authorization": f"Bearer {TOKEN}"},
                            json={"statement": QUICK_SQL, "wait_timeout": "50s",
                                  "warehouse_id": settings.gateway.warehouse_id}).json()
        assert answer["status"]["state"] == "SUCCEEDED", answer
        assert answer["result"]["data_array"] == [["25"]]
        worker = answer["sqlgate"]["worker"]
        assert worker["id"].startswith("ray-worker-") and len(worker["node"]) > 8

