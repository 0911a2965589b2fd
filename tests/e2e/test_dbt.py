"""The unmodified dbt-databricks builds tests/e2e/dbt_project against a real gateway.

A gateway serving HTTPS (dbt-databricks probes https://host/.well-known/... before it
connects) over an empty lake; dbt runs as its own process from its own virtualenv
(``make test`` builds ``.venv-dbt`` from the ``dbt`` extra: dbt pins versions of shared
libraries that the gateway's environment must not be held to). Round one: seed, run,
snapshot, test, docs generate. Round two, after the seed data changed: build and docs
generate again — the merge incremental updates and inserts, the snapshot closes the changed
customer's row and opens a new one. The tables are then read back through the connector.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from databricks import sql

from sqlgate.settings import EngineSettings
from tests.fixtures.server import TOKEN, free_socket, running_gateway, server_settings
from tests.fixtures.tls import self_signed

pytestmark = [pytest.mark.e2e, pytest.mark.dbt]

PROJECT = Path(__file__).with_name("dbt_project")
ROOT = Path(__file__).resolve().parents[2]
# each dbt command starts a fresh interpreter (~10 s of imports) and then runs a few seconds
_DBT_TIMEOUT_S = 300


def _dbt_executable() -> str | None:
    candidates = [os.environ.get("SQLGATE_DBT"), str(ROOT / ".venv-dbt" / "bin" / "dbt"),
                  str(Path(sys.executable).with_name("dbt"))]
    return next((c for c in candidates if c and os.path.exists(c)), None)


@pytest.fixture(scope="module")
def dbt() -> str:
    found = _dbt_executable()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("dbt is not installed: `make test` builds .venv-dbt from the dbt extra")
        pytest.skip("dbt is not installed (make .venv-dbt/.installed)")
    return found


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str, Path]]:
    """(port, http path, CA file) of an HTTPS gateway over an empty lake."""
    tmp = tmp_path_factory.mktemp("dbt")
    lake = tmp / "lake"
    (lake / "main" / "default").mkdir(parents=True)
    cert, key = self_signed(tmp)
    sock = free_socket()
    port = sock.getsockname()[1]
    settings = server_settings(
        EngineSettings(lake=str(lake), cache_dir=str(tmp / "cache")), tmp / "results", port,
        tls_cert=str(cert), tls_key=str(key), public_url=f"https://127.0.0.1:{port}")
    with running_gateway(settings, sock=sock):
        yield port, f"/sql/1.0/warehouses/{settings.gateway.warehouse_id}", cert


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory,
            gateway: tuple[int, str, Path]) -> Path:
    """A copy of the project with a profile pointing at the gateway."""
    port, path, ca = gateway
    work = tmp_path_factory.mktemp("project") / "dbt_project"
    shutil.copytree(PROJECT, work, ignore=shutil.ignore_patterns("target", "logs"))
    profile = {"sqlgate": {"target": "e2e", "outputs": {"e2e": {
        "type": "databricks", "host": f"127.0.0.1:{port}", "http_path": path,
        "token": TOKEN, "catalog": "main", "schema": "dbt_e2e", "threads": 2,
        "connection_parameters": {
            "_connection_uri": f"https://127.0.0.1:{port}{path}",
            "_tls_trusted_ca_file": str(ca), "enable_telemetry": False}}}}}
    (work / "profiles.yml").write_text(json.dumps(profile))
    return work


def run_dbt(dbt: str, project: Path, ca: Path, *args: str) -> str:
    env = {**os.environ, "DBT_PROFILES_DIR": str(project), "REQUESTS_CA_BUNDLE": str(ca),
           "SSL_CERT_FILE": str(ca), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
           "DO_NOT_TRACK": "1"}
    proc = subprocess.run([dbt, *args, "--project-dir", str(project)], cwd=project, env=env,
                          capture_output=True, text=True, timeout=_DBT_TIMEOUT_S)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"dbt {' '.join(args)} failed:\n{out[-6000:]}"
    return out


def rows(gateway: tuple[int, str, Path], query: str) -> list[tuple[object, ...]]:
    port, path, ca = gateway
    with sql.connect(server_hostname=f"127.0.0.1:{port}", http_path=path, access_token=TOKEN,
                     _connection_uri=f"https://127.0.0.1:{port}{path}",
                     _tls_trusted_ca_file=str(ca), enable_telemetry=False) as conn, \
            conn.cursor() as cur:
        cur.execute(query)
        return [tuple(r) for r in cur.fetchall()]


def test_dbt_builds_the_project_twice(dbt: str, project: Path,
                                      gateway: tuple[int, str, Path]) -> None:
    ca = gateway[2]
    for command in (["seed"], ["run"], ["snapshot"], ["test"], ["docs", "generate"]):
        run_dbt(dbt, project, ca, *command)
    catalog = json.loads((project / "target" / "catalog.json").read_text())
    assert not catalog.get("errors")
    assert catalog["nodes"]["model.sqlgate_e2e.stg_customers"]["metadata"]["type"] == "view"
    assert list(catalog["nodes"]["model.sqlgate_e2e.orders_incremental"]["columns"]) == [
        "order_id", "customer_id", "customer_name", "amount", "status", "order_date"]
    assert rows(gateway, "SELECT order_id, status FROM main.dbt_e2e.orders_incremental "
                         "ORDER BY order_id") == [
        (10, "shipped"), (11, "shipped"), (12, "placed"), (13, "returned")]
    assert rows(gateway, "SELECT count(*) FROM main.dbt_e2e.customers_snapshot "
                         "WHERE dbt_valid_to IS NULL") == [(3,)]
    detail = rows(gateway, "DESCRIBE DETAIL main.dbt_e2e.orders_by_day")
    assert list(detail[0][6]) == ["order_date"]  # partitionColumns
    assert ("dbt_e2e", "stg_customers", False, False) in rows(
        gateway, "SHOW VIEWS IN main.dbt_e2e")

    # round two: a customer moved, one is new, an order shipped, one is new
    for csv in (project / "seed_updates").glob("*.csv"):
        shutil.copy(csv, project / "seeds" / csv.name)
    run_dbt(dbt, project, ca, "build")
    run_dbt(dbt, project, ca, "docs", "generate")
    assert rows(gateway, "SELECT order_id, customer_name, status FROM "
                         "main.dbt_e2e.orders_incremental ORDER BY order_id") == [
        (10, "Ada", "shipped"), (11, "Ada", "shipped"), (12, "Grace", "shipped"),
        (13, "Linus", "returned"), (14, "Barbara", "placed")]
    history = rows(gateway, "SELECT customer_id, country, dbt_valid_to IS NULL AS current "
                            "FROM main.dbt_e2e.customers_snapshot ORDER BY customer_id, "
                            "dbt_valid_from")
    assert history == [(1, "GB", True), (2, "US", False), (2, "CA", True), (3, "FI", True),
                       (4, "US", True)]
    versions = rows(gateway, "DESCRIBE HISTORY main.dbt_e2e.orders_incremental")
    assert any(r[2] == "MERGE" for r in versions)
