"""The partner API served for real by uvicorn on a loopback port, in a thread of the test
process, with the options `assure api` uses; and tokens issued straight into its database."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from kernel.settings import load_settings
from partner_api.app import create_app
from partner_api.server import server_options
from posture.identity.tokens import issue_token, known_scopes
from posture.storage.engine import transaction
from posture.storage.models import User
from tests.peers.processes import free_port


@dataclass(frozen=True)
class LiveApi:
    url: str
    host: str
    port: int
    app: FastAPI

    def issue(self, user_id: int, scopes: list[str] | None = None) -> dict[str, str]:
        """A fresh bearer token for the user, as the operator CLI would issue it."""
        runtime = self.app.state.runtime
        with transaction(runtime.sessions) as session:
            user = session.get(User, user_id)
            assert user is not None
            token, _ = issue_token(
                session, None, runtime.key, user, scopes or sorted(known_scopes()), minutes=5
            )
        return {"Authorization": f"Bearer {token}"}


@contextmanager
def serving_api(
    template: Path,
    folder: Path,
    settings: dict[str, str] | None = None,
    app_options: dict[str, Any] | None = None,
    **options: Any,
) -> Iterator[LiveApi]:
    """A copy of the prepared world served until the block ends. `app_options` go to
    `create_app` (a clock, the token cache's size); `options` override the uvicorn options
    `assure api` uses (a shorter timeout, another protocol class)."""
    shutil.copytree(template, folder)
    environ = {"ASSURE_DATA_DIR": str(folder), "ASSURE_API_RATE_LIMIT": "100000/minute"}
    environ |= {f"ASSURE_{k.upper()}": v for k, v in (settings or {}).items()}
    app = create_app(load_settings(environ), **(app_options or {}))
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="critical",
        lifespan="off",
        **{**server_options(), **options},
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    try:
        yield LiveApi(f"http://127.0.0.1:{port}", "127.0.0.1", port, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
