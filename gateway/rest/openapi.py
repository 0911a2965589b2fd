"""The OpenAPI 3.0 description of the gateway's REST API, served at ``/openapi.json``.

Written by hand (there are ten operations) so it states what the server checks: the field
types, enums and the wait_timeout pattern the validation enforces.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sqlgate.types import Disposition, ResultFormat, StatementState

_ERROR = {"$ref": "#/components/schemas/Error"}
_STATEMENT = {"$ref": "#/components/schemas/StatementResponse"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    names = {400: "Invalid request", 401: "Missing or invalid token", 404: "Not found",
             413: "Body or statement too large", 429: "Too many statements; retry later",
             503: "Warehouse temporarily unavailable"}
    return {str(c): _json(_ERROR, names[c]) for c in codes}


_ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}

_EXECUTE = {
    "type": "object",
    "required": ["statement", "warehouse_id"],
    "properties": {
        "statement": {"type": "string", "minLength": 1},
        "warehouse_id": {"type": "string", "minLength": 1},
        "catalog": {"type": "string"},
        "schema": {"type": "string"},
        "parameters": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "value": {"type": "string", "nullable": True},
                    "type": {"type": "string"},
                },
            },
        },
        "row_limit": {"type": "integer", "format": "int64", "minimum": 0},
        "byte_limit": {"type": "integer", "format": "int64", "minimum": 0},
        "disposition": {"type": "string",
                        "enum": [d.value for d in Disposition]},
        "format": {"type": "string", "enum": [f.value for f in ResultFormat]},
        "wait_timeout": {"type": "string", "pattern": r"^(0|[5-9]|[1-4][0-9]|50)(\.0+)?s$",
                         "default": "10s"},
        "on_wait_timeout": {"type": "string", "enum": ["CONTINUE", "CANCEL"]},
        "result_compression": {"type": "string", "enum": ["LZ4_FRAME", "NONE"]},
    },
}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error_code", "message"],
        "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
    },
    "ExecuteStatementRequest": _EXECUTE,
    "StatementResponse": {
        "type": "object",
        "required": ["statement_id", "status"],
        "properties": {
            "statement_id": {"type": "string"},
            "status": {
                "type": "object",
                "required": ["state"],
                "properties": {
                    "state": {"type": "string", "enum": [s.value for s in StatementState]},
                    "error": _ERROR,
                    "sql_state": {"type": "string"},
                },
            },
            "manifest": {"type": "object"},
            "result": {"$ref": "#/components/schemas/ResultData"},
            "sqlgate": {"type": "object", "description":
                        "Extension: lane (short/long/distributed), the worker that ran "
                        "it ({id, node}), cost estimate and queue_ms."},
        },
    },
    "ResultData": {
        "type": "object",
        "properties": {
            "chunk_index": {"type": "integer"},
            "row_offset": {"type": "integer"},
            "row_count": {"type": "integer"},
            "data_array": {"type": "array", "items": {"type": "array", "items": {
                "type": "string", "nullable": True}}},
            "external_links": {"type": "array", "items": {"type": "object"}},
            "next_chunk_index": {"type": "integer"},
            "next_chunk_internal_link": {"type": "string"},
        },
    },
    "Warehouse": {
        "type": "object",
        "required": ["id", "name", "state"],
        "properties": {
            "id": {"type": "string"}, "name": {"type": "string"},
            "state": {"type": "string",
                      "enum": ["STARTING", "RUNNING", "STOPPING", "STOPPED"]},
            "auto_stop_mins": {"type": "integer"}, "cluster_size": {"type": "string"},
            "min_num_clusters": {"type": "integer"}, "max_num_clusters": {"type": "integer"},
            "num_clusters": {"type": "integer"},
            "enable_serverless_compute": {"type": "boolean"},
        },
    },
}

_AUTH: list[dict[str, list[str]]] = [{"bearer": []}]

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "sqlgate", "version": "0.1.0", "description":
             "Databricks SQL Statement Execution API 2.0 and SQL Warehouses API."},
    "components": {"schemas": _SCHEMAS,
                   "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": _AUTH,
    "paths": {
        "/api/2.0/sql/statements": {"post": {
            "operationId": "executeStatement",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ExecuteStatementRequest"}}}},
            "responses": {"200": _json(_STATEMENT), **_errors(400, 401, 404, 413, 429, 503)},
        }},
        "/api/2.0/sql/statements/{id}": {
            "get": {"operationId": "getStatement", "parameters": [_ID_PARAM],
                    "responses": {"200": _json(_STATEMENT), **_errors(401, 404)}},
            "delete": {"operationId": "closeStatement", "parameters": [_ID_PARAM],
                       "responses": {"200": _json({"type": "object"}), **_errors(401, 404)}},
        },
        "/api/2.0/sql/statements/{id}/cancel": {"post": {
            "operationId": "cancelStatement", "parameters": [_ID_PARAM],
            "responses": {"200": _json({"type": "object"}), **_errors(401, 404)}}},
        "/api/2.0/sql/statements/{id}/result/chunks/{chunk_index}": {"get": {
            "operationId": "getStatementResultChunk",
            "description": ("One chunk of a SUCCEEDED statement's result; on a running "
                            "EXTERNAL_LINKS statement, a chunk already stored (the call "
                            "waits up to chunk_wait_s for it)."),
            "parameters": [
                _ID_PARAM,
                {"name": "chunk_index", "in": "path", "required": True,
                 "schema": {"type": "integer", "minimum": 0}},
                {"name": "row_offset", "in": "query", "required": False,
                 "schema": {"type": "integer"}, "description": "Accepted and ignored."},
            ],
            "responses": {"200": _json({"$ref": "#/components/schemas/ResultData"}),
                          **_errors(400, 401, 404)}}},
        "/api/2.0/sql/sessions/": {"post": {
            "operationId": "createSession",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["warehouse_id"], "properties": {
                    "warehouse_id": {"type": "string"}, "catalog": {"type": "string"},
                    "schema": {"type": "string"},
                    "session_confs": {"type": "object",
                                      "additionalProperties": {"type": "string"}}}}}}},
            "responses": {"200": _json({"type": "object", "required": ["session_id"],
                                        "properties": {"session_id": {"type": "string"}}}),
                          **_errors(400, 401, 404, 429)}}},
        "/api/2.0/sql/sessions/{id}": {"delete": {
            "operationId": "deleteSession",
            "parameters": [_ID_PARAM, {"name": "warehouse_id", "in": "query",
                                       "schema": {"type": "string"}}],
            "responses": {"200": _json({"type": "object"}), **_errors(400, 401, 404)}}},
        "/api/2.0/sql/warehouses": {"get": {
            "operationId": "listWarehouses",
            "parameters": [
                {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                {"name": "page_token", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {"200": _json({"type": "object", "properties": {
                "warehouses": {"type": "array",
                               "items": {"$ref": "#/components/schemas/Warehouse"}},
                "next_page_token": {"type": "string"}}}), **_errors(400, 401)}}},
        "/api/2.0/sql/warehouses/{id}": {"get": {
            "operationId": "getWarehouse", "parameters": [_ID_PARAM],
            "responses": {"200": _json({"$ref": "#/components/schemas/Warehouse"}),
                          **_errors(401, 404)}}},
        "/api/2.0/sql/warehouses/{id}/start": {"post": {
            "operationId": "startWarehouse", "parameters": [_ID_PARAM],
            "responses": {"200": _json({"type": "object"}), **_errors(401, 404)}}},
        "/api/2.0/sql/warehouses/{id}/stop": {"post": {
            "operationId": "stopWarehouse", "parameters": [_ID_PARAM],
            "responses": {"200": _json({"type": "object"}), **_errors(401, 404)}}},
        "/.well-known/databricks-config": {"get": {
            "operationId": "hostMetadata", "security": [],
            "responses": {"200": _json({"type": "object"})}}},
        "/healthz": {"get": {"operationId": "health", "security": [],
                             "responses": {"200": _json({"type": "object"})}}},
    },
}


async def openapi_endpoint(request: Request) -> Response:
    """GET /openapi.json."""
    return JSONResponse(SPEC)


__all__ = ["SPEC", "openapi_endpoint"]
