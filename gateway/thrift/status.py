"""`TStatus` and `TGetOperationStatusResp` from registry states and errors.

>>> error_status("boom", "BAD_REQUEST", "42000").statusCode == ttypes.TStatusCode.ERROR_STATUS
True
"""

from __future__ import annotations

from databricks.sql.thrift_api.TCLIService import ttypes

from gateway.thrift.operations import Operation
from sqlgate.types import StatementState

S = ttypes.TOperationState

STATES = {
    StatementState.PENDING: S.PENDING_STATE,
    StatementState.RUNNING: S.RUNNING_STATE,
    StatementState.SUCCEEDED: S.FINISHED_STATE,
    StatementState.FAILED: S.ERROR_STATE,
    StatementState.CANCELED: S.CANCELED_STATE,
    StatementState.CLOSED: S.CLOSED_STATE,
}


def error_status(message: str, error_code: str | None = None,
                 sql_state: str | None = None) -> ttypes.TStatus:
    """An ERROR_STATUS; the Databricks error code leads the message, as Databricks does.

    Never SQLSTATE KP001: the connector would silently retry through another backend.
    """
    text = message if not error_code or message.startswith("[") else f"[{error_code}] {message}"
    return ttypes.TStatus(
        statusCode=ttypes.TStatusCode.ERROR_STATUS,
        errorMessage=text,
        sqlState=None if sql_state == "KP001" else sql_state,
        displayMessage=text,
    )


def operation_status(op: Operation) -> ttypes.TGetOperationStatusResp:
    """The operation's state, its error when it failed, rows changed by DML."""
    state = op.state
    resp = ttypes.TGetOperationStatusResp(
        status=ttypes.TStatus(statusCode=ttypes.TStatusCode.SUCCESS_STATUS),
        operationState=STATES[state],
        hasResultSet=op.has_result_set,
    )
    err = op.error
    if state is StatementState.FAILED and err is not None:
        failed = error_status(err.message, err.error_code, err.sql_state)
        resp.errorMessage = failed.errorMessage
        resp.displayMessage = failed.displayMessage
        resp.sqlState = failed.sqlState
    elif state is StatementState.CANCELED:
        resp.errorMessage = "The operation was canceled"
    result = op.result
    if result is not None and result.manifest.num_modified_rows is not None:
        resp.numModifiedRows = result.manifest.num_modified_rows
    return resp


__all__ = ["STATES", "error_status", "operation_status"]
