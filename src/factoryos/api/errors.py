"""Our errors as HTTP answers: a bad parameter is a 422 naming the field and the value, an access
error a 403, anything else factoryos refuses a 409 with its message; never a traceback."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from factoryos.model.errors import AccessError, FactoryosError, ParameterError


def _jsonable(value: object) -> object:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


async def parameter_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ParameterError)
    detail = [
        {
            "loc": [exc.field],
            "msg": str(exc),
            "input": _jsonable(exc.value),
            "type": "value_error",
        }
    ]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def access_error(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_403_FORBIDDEN)


async def factoryos_error(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ParameterError, parameter_error)
    app.add_exception_handler(AccessError, access_error)
    app.add_exception_handler(FactoryosError, factoryos_error)
