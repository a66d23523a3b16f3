"""Who holds a row in flight, and whether that process still lives."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from koreapage_bot.delivery.holder import STALE_AFTER, Holder, is_alive, local_state

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def test_an_identity_survives_the_round_trip_through_the_store() -> None:
    me = Holder.current()
    assert Holder.parse(me.id) == me
    assert Holder.parse("host/with/slashes/ns/12/345") == Holder(
        "host/with/slashes", "ns", 12, "345"
    )
    assert Holder.parse("not an id") is None


def test_this_host_can_tell_a_live_process_from_a_dead_or_reused_pid() -> None:
    me = Holder.current()
    assert local_state(me) is True
    # The same PID started at another time: the PID was reused (or the container restarted).
    assert local_state(Holder(me.host, me.namespace, me.pid, "0")) is False
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        holder = Holder.of_pid(child.pid)
        assert holder is not None and local_state(holder) is True
        assert is_alive(holder.id, {}, NOW)  # no heartbeat needed on the same host
    finally:
        child.kill()
        child.wait()
    assert local_state(holder) is False
    assert not is_alive(holder.id, {holder.id: NOW}, NOW)  # a fresh heartbeat cannot revive it


def test_another_host_lives_by_its_heartbeat() -> None:
    other = Holder("elsewhere", "4026531836", 1, "25").id
    assert local_state(Holder.parse(other)) is None  # type: ignore[arg-type]
    assert is_alive(other, {other: NOW - STALE_AFTER + timedelta(seconds=1)}, NOW)
    assert not is_alive(other, {other: NOW - STALE_AFTER}, NOW)
    assert not is_alive(other, {}, NOW)  # stopped cleanly (row removed) or never registered
