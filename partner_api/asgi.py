"""The ASGI application for uvicorn, configured from the environment like every command."""

from __future__ import annotations

from partner_api.app import create_app
from posture.config import load_settings

app = create_app(load_settings())
