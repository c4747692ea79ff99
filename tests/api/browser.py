"""What the browser tests share: the system Chromium, their marks, and a service served by
uvicorn on a free loopback port in a thread for the test module's life."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from factoryos.api import create_app
from factoryos.app.service import Service

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="Chromium is absent: run scripts/browser.sh (apt-get install chromium)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(service: Service) -> Iterator[str]:
    """``service`` behind its app on http://127.0.0.1:PORT until the block ends."""
    config = uvicorn.Config(
        create_app(service.settings, service=service),
        host="127.0.0.1",
        port=_free_port(),
        log_level="warning",
        timeout_graceful_shutdown=1,
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        service.close_streams()
        srv.should_exit = True
        thread.join(10)
