"""Bulk reads of a snapshot run pause Python's garbage collector while their tuples are made;
the collector always runs again afterwards: after a read, after a read that fails, and when
many reads overlap in threads (the switch is process-wide)."""

from __future__ import annotations

import gc
import random
import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from kernel.collector import collector_paused
from posture.dashboards import product_standings
from posture.storage.models.enums import Role
from tests.dashboards.conftest import Db


def test_a_read_leaves_the_collector_running(snapshots: Db) -> None:
    world, sessions, _ = snapshots
    assert gc.isenabled()
    with sessions() as session:
        standings = product_standings(session, world.principal(Role.NATIONAL_ASSESSOR))
    assert len(standings) == 2
    assert gc.isenabled()


def test_a_read_that_fails_leaves_the_collector_running(snapshots: Db) -> None:
    _, sessions, _ = snapshots

    def failing_read() -> None:
        with sessions() as session, collector_paused():
            assert not gc.isenabled()
            session.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(OperationalError, match="no such table"):
        failing_read()
    assert gc.isenabled()


def test_overlapping_reads_in_threads_never_leave_the_collector_off() -> None:
    pick = random.Random(7)  # noqa: S311 - reproducible timings, not a secret
    delays = [(pick.random() / 200, pick.random() / 200) for _ in range(40)]
    start = threading.Barrier(len(delays))

    def read(before: float, inside: float) -> None:
        start.wait()
        time.sleep(before)
        with collector_paused():
            assert not gc.isenabled()
            time.sleep(inside)

    threads = [threading.Thread(target=read, args=pair) for pair in delays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)
    assert gc.isenabled()


def test_a_collector_paused_by_someone_else_is_left_to_them() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
