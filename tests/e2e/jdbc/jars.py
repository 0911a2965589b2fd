"""The Hive JDBC driver's jars, taken once from the pyspark *source* package on the package
index and kept in a cache folder outside the repository (never committed).

The pyspark sdist ships Spark's runtime jars under ``pyspark-<v>/deps/jars/``; hive-jdbc
2.3.10 and everything it needs at run time (hive-service, hive-service-rpc, libthrift,
httpclient, ...) are among them. One download (~430 MB, streamed, checked against the
index's sha256) extracts only the jars named in `JAR_PREFIXES`, then the archive is deleted.

    python -m tests.e2e.jdbc.jars          # fill the cache, print the classpath

Cache folder: ``$SQLGATE_JAR_CACHE``, else ``$XDG_CACHE_HOME/sqlgate/jars`` (``~/.cache``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

PYSPARK_VERSION = "4.0.1"  # Spark 4.0 bundles hive-jdbc 2.3.10
# The index's simple API in its JSON form (PEP 691), as pip itself reads it.
INDEX = os.environ.get("SQLGATE_PYPI_SIMPLE", "https://pypi.org/simple")

# What `org.apache.hive.jdbc.HiveDriver` loads over HTTP transport (name prefixes in deps/jars).
JAR_PREFIXES = (
    "hive-jdbc-", "hive-service-", "spark-hive-thriftserver_", "hive-llap-",
    "spark-common-utils_", "scala-library-", "hive-beeline-", "jline-", "super-csv-",
    "commons-cli-", "hive-service-rpc-", "hive-common-", "hive-serde-",
    "hive-shims-", "hive-storage-api-", "libthrift-", "httpclient-", "httpcore-",
    "commons-lang-", "commons-lang3-", "jcl-over-slf4j-", "commons-codec-",
    "commons-collections-", "commons-io-", "slf4j-api-", "guava-", "curator-",
    "zookeeper-", "hadoop-client-api-", "hadoop-client-runtime-", "protobuf-java-",
    "log4j-api-", "log4j-core-", "log4j-1.2-api-", "log4j-slf4j2-impl-", "jackson-",
)
MARKER = ".complete"


def cache_dir() -> Path:
    """Where the jars live: $SQLGATE_JAR_CACHE or the user's cache folder."""
    explicit = os.environ.get("SQLGATE_JAR_CACHE")
    if explicit:
        return Path(explicit)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "sqlgate" / "jars" / f"pyspark-{PYSPARK_VERSION}"


def _sdist_url(version: str) -> tuple[str, str]:
    req = urllib.request.Request(f"{INDEX}/pyspark/",
                                 headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        meta = json.load(resp)
    for f in meta["files"]:
        if f["filename"] == f"pyspark-{version}.tar.gz":
            return f["url"], f["hashes"]["sha256"]
    raise RuntimeError(f"pyspark {version} has no source package on the index")


def _wanted(name: str) -> bool:
    parts = name.split("/")
    if len(parts) < 3 or parts[-2] != "jars" or parts[-3] != "deps" or not name.endswith(".jar"):
        return False
    return parts[-1].startswith(JAR_PREFIXES)


def fetch_jars(target: Path | None = None) -> Path:
    """The folder holding the driver's jars, downloading them first if not cached yet."""
    target = target or cache_dir()
    stamp = f"{PYSPARK_VERSION} {' '.join(JAR_PREFIXES)}\n"
    marker = target / MARKER
    if marker.exists() and marker.read_text() == stamp:
        return target
    target.mkdir(parents=True, exist_ok=True)
    url, sha256 = _sdist_url(PYSPARK_VERSION)
    with tempfile.TemporaryDirectory(dir=target) as tmp:
        archive = Path(tmp) / "pyspark.tar.gz"
        digest = hashlib.sha256()
        with urllib.request.urlopen(url, timeout=120) as resp, archive.open("wb") as out:
            while block := resp.read(1 << 20):
                digest.update(block)
                out.write(block)
        if digest.hexdigest() != sha256:
            raise RuntimeError(f"{url}: sha256 mismatch")
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.isfile() and _wanted(member.name):
                    src = tar.extractfile(member)
                    assert src is not None
                    (target / Path(member.name).name).write_bytes(src.read())
    if not any(target.glob("hive-jdbc-*.jar")):
        raise RuntimeError(f"no hive-jdbc jar in pyspark {PYSPARK_VERSION}'s deps/jars")
    marker.write_text(stamp)
    return target


def classpath(folder: Path) -> str:
    """Every jar in `folder`, joined for -cp."""
    return os.pathsep.join(str(p) for p in sorted(folder.glob("*.jar")))


if __name__ == "__main__":
    print(classpath(fetch_jars()))
    sys.exit(0)
