"""factoryos.api: the HTTP API and the dashboard (FastAPI lives only here)."""

from factoryos.api.app import create_app

__all__ = ["create_app"]
