"""Who holds a delivery in `sending`: the identity of a dispatcher process, and whether it lives.

A claim records its holder, `host/pid-namespace/pid/start-time`. A restart can then tell that
the process which left rows in flight is gone and settle them at once, instead of waiting out a
lease in case it still sends. Two signs of life, the first that answers wins:

- the same host and PID namespace: the process table. A PID that no longer exists, or that now
  belongs to a process started at another time (the PID was reused, or the container restarted
  with the bot as PID 1 again), is dead;
- elsewhere (another host or container): the heartbeat the live dispatcher keeps refreshing in
  `delivery_holders`. No row, or a row not refreshed for `STALE_AFTER`, is dead.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

HEARTBEAT_EVERY = timedelta(seconds=5)
# Several missed heartbeats (a slow database, a paused VM) before another host gives up on it.
STALE_AFTER = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Holder:
    host: str
    namespace: str  # PID namespace: PIDs only mean something inside one
    pid: int
    started: str  # process start time as the kernel counts it (clock ticks since boot)

    @property
    def id(self) -> str:
        return f"{self.host}/{self.namespace}/{self.pid}/{self.started}"

    @classmethod
    def parse(cls, holder_id: str) -> Holder | None:
        # The host name may itself contain "/" in theory: split from the right.
        parts = holder_id.rsplit("/", 3)
        if len(parts) != 4 or not parts[2].isdigit():
            return None
        return cls(parts[0], parts[1], int(parts[2]), parts[3])

    @classmethod
    def current(cls) -> Holder:
        return this_process()

    @classmethod
    def of_pid(cls, pid: int) -> Holder | None:
        """The identity of another process on this host (None when it does not exist or
        there is no /proc)."""
        started = _start_time(pid)
        if started is None:
            return None
        me = this_process()
        return cls(me.host, me.namespace, pid, started)


@cache
def this_process() -> Holder:
    pid = os.getpid()
    return Holder(socket.gethostname()[:120], _pid_namespace(), pid, _start_time(pid) or "?")


def _pid_namespace() -> str:
    try:
        # e.g. "pid:[4026531836]": the same for every process that shares our PID numbering.
        return os.readlink("/proc/self/ns/pid").removeprefix("pid:").strip("[]")
    except OSError:
        return "-"


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks after boot); None when the
    process does not exist or there is no /proc (then only heartbeats can tell)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces or ")".
    fields = raw[raw.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def local_state(holder: Holder) -> bool | None:
    """True/False when this host's process table can tell whether `holder` still runs; None
    when it cannot (another host or namespace, or no /proc)."""
    me = this_process()
    if (holder.host, holder.namespace) != (me.host, me.namespace) or me.started == "?":
        return None
    if holder == me:
        return True
    started = _start_time(holder.pid)
    return started is not None and started == holder.started


def is_alive(
    holder_id: str, heartbeats: Mapping[str, datetime], now: datetime, *, local: bool = True
) -> bool:
    """Whether the process `holder_id` may still be sending what it claimed. `heartbeats` maps
    each registered holder to its last heartbeat."""
    holder = Holder.parse(holder_id)
    if local and holder is not None:
        state = local_state(holder)
        if state is not None:
            return state
    seen = heartbeats.get(holder_id)
    return seen is not None and now - seen < STALE_AFTER
