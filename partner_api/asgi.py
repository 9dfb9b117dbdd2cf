"""The ASGI application for uvicorn, configured from the environment like every command."""

from __future__ import annotations

from kernel.settings import load_settings
from partner_api.app import create_app

app = create_app(load_settings())
