"""The live API notes when each token was last used, to the minute, without a write on every
request: the database sees one update a minute per busy token."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import jwt
from sqlalchemy import event, select

from kernel.clock import utcnow
from posture.storage.models import ApiToken
from posture.storage.models.enums import Role
from tests.partner_api.live import serving_api
from tests.partner_api.world import ApiWorld


def test_a_busy_token_is_noted_once_a_minute(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    template, prepared = api_template
    now = [utcnow()]
    with serving_api(template, tmp_path / "data", app_options={"clock": lambda: now[0]}) as live:
        sessions = live.app.state.runtime.sessions
        updates: list[str] = []

        def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            if statement.lstrip().upper().startswith("UPDATE API_TOKENS"):
                updates.append(statement)

        engine = sessions.kw["bind"]
        event.listen(engine, "before_cursor_execute", count)
        headers = live.issue(prepared.world.users[Role.SUPPLIER_ADMIN])
        jti = jwt.decode(headers["Authorization"][7:], options={"verify_signature": False})["jti"]
        now[0] = utcnow() + timedelta(seconds=1)  # after the token's "not before"
        url = f"{live.url}/v1/products/{prepared.world.orgs['s1'].product_id}"
        first = now[0]
        with httpx.Client(headers=headers) as client:
            for _ in range(10):
                assert client.get(url).status_code == 200
            now[0] = first + timedelta(seconds=61)
            for _ in range(5):
                assert client.get(url).status_code == 200
        event.remove(engine, "before_cursor_execute", count)
        with sessions() as session:
            last_used = session.scalar(select(ApiToken.last_used_at).where(ApiToken.jti == jti))
    assert len(updates) == 2
    assert last_used == first + timedelta(seconds=61)
