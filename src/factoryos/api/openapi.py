"""The OpenAPI 3.1 document as checked in under ``docs/openapi.json``.

``python -m factoryos.api.openapi docs/openapi.json`` rewrites it; a test fails when the served
document drifts from the checked-in one. The document does not depend on the plant or the data.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from factoryos.api.app import create_app
from factoryos.app.service import Service, ServiceSettings

REFERENCE_PLANT = Path(__file__).resolve().parents[3] / "examples" / "robot_factory.yaml"


def document(app: FastAPI) -> str:
    """The app's OpenAPI as stable, pretty JSON text (keys in the order FastAPI emits them)."""
    doc: dict[str, Any] = app.openapi()
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> None:
    settings = ServiceSettings((REFERENCE_PLANT,), db=":memory:")
    text = document(create_app(settings, service=Service(settings)))
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
