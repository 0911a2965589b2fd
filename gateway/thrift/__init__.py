"""The Thrift/HTTP front (HiveServer2 TCLIService + Databricks extensions) for BI connectors.

    routes = thrift_routes(gateway)   # mounted by gateway.app next to the REST API

Module map: `wire` (one call per POST, safe UNKNOWN_METHOD), `routes` (HTTP, auth),
`service` (the RPCs over the statement registry), `operations` (sessions, handles),
`results` + `rowsets` + `schema` (Arrow -> TRowSet / TTableSchema), `metadata` (catalog
RPCs as SQL), `params`, `status`.
"""

from gateway.thrift.routes import PUBLIC_PREFIXES, thrift_routes
from gateway.thrift.service import ThriftService

__all__ = ["PUBLIC_PREFIXES", "ThriftService", "thrift_routes"]
