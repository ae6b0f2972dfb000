"""How busy other processes keep the CPUs: CPU timings are wrong (by up to 50x) when they compete.

Read from /proc/stat (all CPUs' busy time) minus this process's own CPU time, over
the same wall time; on systems without /proc/stat nothing is measured (None).
"""

from __future__ import annotations

import os
import time


def _busy_seconds() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    t = os.times()
    return t.user + t.system


class OtherLoad:
    """``with OtherLoad() as load: ...`` then ``load.share``: others' CPU time / (CPUs x wall time), or None."""

    def __enter__(self) -> "OtherLoad":
        self.share: float | None = None
        self._t0, self._busy0, self._own0 = time.monotonic(), _busy_seconds(), _own_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        busy = _busy_seconds()
        wall = time.monotonic() - self._t0
        if busy is None or self._busy0 is None or wall <= 0:
            return
        others = (busy - self._busy0) - (_own_seconds() - self._own0)
        self.share = max(0.0, min(1.0, others / ((os.cpu_count() or 1) * wall)))


def other_load(seconds: float = 0.5) -> float | None:
    """Others' share of the CPUs over ``seconds`` of this process sleeping (before a CPU run)."""
    with OtherLoad() as load:
        time.sleep(seconds)
    return load.share
