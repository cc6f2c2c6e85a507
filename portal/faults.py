"""Fault injection for the crash tests: pause a process at a named point.

``PLANERKA_FAULT_PAUSE=name:seconds`` makes ``checkpoint("name")`` sleep once: it creates
``PLANERKA_FAULT_MARKER`` holding its pid (so a test knows whom to kill), and no process
pauses again while that file exists; without a marker, once per process. Unset, a
checkpoint costs one environment lookup.
"""

from __future__ import annotations

import os
import time

_fired: set[str] = set()


def checkpoint(name: str) -> None:
    spec = os.environ.get("PLANERKA_FAULT_PAUSE")
    if not spec:
        return
    wanted, _, seconds = spec.partition(":")
    if wanted != name or name in _fired:
        return
    marker = os.environ.get("PLANERKA_FAULT_MARKER")
    if marker:
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return  # paused once already (perhaps in a worker killed since)
        with os.fdopen(fd, "w") as file:
            file.write(f"{os.getpid()}\n")
    _fired.add(name)
    time.sleep(float(seconds or 30))
