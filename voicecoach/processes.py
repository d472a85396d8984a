"""Whether the process that left something behind (a session in the log, a download's
work folder) still runs, told without the wall clock.

A Raspberry Pi offline has no battery-backed clock: its date is wrong after a power cut
and jumps when it is set, so neither a time nor a file's age tells a process cut off
from one still at work. The pid with the boot it ran in and its start time since that
boot does (Linux's /proc).
"""

from __future__ import annotations

import os
from pathlib import Path


def pid_alive(pid: int | None) -> bool:
    """Whether a process numbered ``pid`` runs now (whichever it is)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_identity(pid: int | str = "self") -> str | None:
    """What tells the process ``pid`` from a later one given the same number (after a
    reboot, or in another PID namespace): the boot, and the time since boot it started,
    read from Linux's /proc; None where they cannot be read."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
        # Field 22 is the start time; field 2, the command name, may hold spaces or ")".
        started = stat[stat.rindex(")") + 2 :].split()[19]
    except (OSError, ValueError, IndexError):
        return None
    return f"{boot}/{started}"


def still_running(pid: int | None, identity: str | None) -> bool:
    """Whether the process ``pid`` that recorded ``identity`` (:func:`process_identity`)
    runs on: its pid is alive and, where its identity was recorded, is still that
    process. After a power cut the pid of a process cut off is soon another's, alive."""
    if not pid_alive(pid):
        return False
    assert pid is not None
    return identity is None or process_identity(pid) in (None, identity)
