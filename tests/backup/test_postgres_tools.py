"""pg_dump and pg_restore as a restore runs them: the database named in a quoted connection
string (a name with "=", quotes or a backslash is a name; no name means libpq's default), and
the password in a 0600 password file of their own, removed afterwards, never the environment."""

from __future__ import annotations

import secrets
import socket
import struct
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from posture.backup.manifest import BackupError
from posture.backup.postgres_copy import _run, restore_command, tool
from posture.backup.restore import restore_backup
from posture.backup.take import take_backup
from tests.backup.estate import fingerprints_of, seed_estate, settings_for
from tests.conftest import POSTGRES_URL

ODD_NAME = "assure=restore 'odd' \\ db"
PASSWORD = "pa:ss\\wo'rd*"


class PasswordPeer:
    """A loopback peer speaking the start of PostgreSQL's protocol: it asks for the password in
    clear, records the start-up parameters and the password, and refuses the login."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.logins: list[tuple[dict[str, str], str]] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _read(self, connection: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = connection.recv(size - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                try:
                    self._login(connection)
                except (ConnectionError, OSError):
                    continue

    def _login(self, connection: socket.socket) -> None:
        while True:
            (length,) = struct.unpack("!I", self._read(connection, 4))
            body = self._read(connection, length - 4)
            (code,) = struct.unpack("!I", body[:4])
            if code in (80877103, 80877104):  # SSL or GSS encryption: not offered
                connection.sendall(b"N")
                continue
            break
        fields = body[4:].split(b"\0")
        params = dict(zip(fields[0:-2:2], fields[1:-2:2], strict=True))
        connection.sendall(b"R" + struct.pack("!II", 8, 3))  # cleartext password, please
        kind = self._read(connection, 1)
        (length,) = struct.unpack("!I", self._read(connection, 4))
        password = self._read(connection, length - 4).rstrip(b"\0").decode()
        assert kind == b"p"
        self.logins.append(({k.decode(): v.decode() for k, v in params.items()}, password))
        error = b"SFATAL\0VFATAL\0C28P01\0Mrefused by the test peer\0\0"
        connection.sendall(b"E" + struct.pack("!I", len(error) + 4) + error)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def peer() -> Iterator[PasswordPeer]:
    listening = PasswordPeer()
    yield listening
    listening.close()


@pytest.fixture(scope="module")
def empty_dump(tmp_path_factory: pytest.TempPathFactory, postgres_reason: str | None) -> Path:
    """A real custom-format dump (of no schema) for pg_restore to open."""
    if postgres_reason:
        pytest.skip(f"needs PostgreSQL, which does not answer here: {postgres_reason}")
    dump = tmp_path_factory.mktemp("dump") / "empty.pgdump"
    schema = f"assure_empty_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        _run(
            [tool("pg_dump"), "--format=custom", f"--schema={schema}", f"--file={dump}"],
            make_url(POSTGRES_URL),
            "pg_dump",
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}"'))
        admin.dispose()
    return dump


def _pgpass_files() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("assure-pgpass-*")}


def _restore_against(url: URL, dump: Path, work: Path) -> None:
    listing = work / "restore.list"
    listing.write_text("\n")
    with pytest.raises(BackupError, match="refused by the test peer"):
        _run(restore_command(tool("pg_restore"), listing, url, dump), url, "pg_restore")


@pytest.mark.postgres
def test_pg_restore_gets_the_password_from_a_file_and_the_database_name_verbatim(
    peer: PasswordPeer, empty_dump: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Set in the operator's shell: the URL's password must win, and never travel this way.
    monkeypatch.setenv("PGPASSWORD", "a stale password from the environment")
    before = _pgpass_files()
    url = URL.create(
        "postgresql+psycopg",
        username="assure",
        password=PASSWORD,
        host="127.0.0.1",
        port=peer.port,
        database=ODD_NAME,
    )
    _restore_against(url, empty_dump, tmp_path)
    params, password = peer.logins[-1]
    assert password == PASSWORD
    assert params["database"] == ODD_NAME
    assert params["user"] == "assure"
    assert _pgpass_files() == before


@pytest.mark.postgres
def test_a_url_without_a_database_uses_libpqs_default_not_the_word_none(
    peer: PasswordPeer, empty_dump: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGDATABASE", raising=False)
    url = URL.create(
        "postgresql+psycopg", username="assure", password=PASSWORD, host="127.0.0.1", port=peer.port
    )
    _restore_against(url, empty_dump, tmp_path)
    params, _ = peer.logins[-1]
    assert params["database"] == "assure"  # libpq's default: the user's name


@pytest.fixture
def odd_database() -> Iterator[str]:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    quoted = '"' + ODD_NAME.replace('"', '""') + '"'
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {quoted}"))
    try:
        yield make_url(POSTGRES_URL).set(database=ODD_NAME).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
        admin.dispose()


@pytest.mark.postgres
def test_an_estate_in_a_database_named_with_equals_quotes_and_a_backslash_restores(
    tmp_path: Path, odd_database: str
) -> None:
    source = tmp_path / "data"
    seed_estate(source, odd_database)
    before = fingerprints_of(settings_for(source, odd_database))
    taken = take_backup(
        settings_for(source, odd_database), tmp_path / "b.tar", None, include_keys=False
    )
    engine = create_engine(odd_database)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    report = restore_backup(
        settings_for(tmp_path / "restored", odd_database),
        taken.path,
        None,
        skip_keys=False,
        accept_unauthenticated=True,
    )
    assert report.checks.copy_faithful
    assert fingerprints_of(settings_for(tmp_path / "restored", odd_database)) == before
