"""TEST HOOK: make this process SIGKILL itself at a named point, for the kill -9 campaign.

Never set in normal use. ``tests/publish/test_kill9.py`` and ``bench/bench_kill9.py`` set the environment variable
``HIPSENSE_TEST_CRASH_AT`` in the gateway processes they start, to hit points that a timed kill from outside
reaches only by luck::

    HIPSENSE_TEST_CRASH_AT=NAME[:N][@DELAY_S]

kills the process the ``N``-th time (default 1) :func:`crash_point` is called with ``NAME``; with ``@DELAY_S`` a
timer thread sends the SIGKILL that many seconds later while the calling thread goes on (e.g. ``store.commit@0.001``
lands inside SQLite's ``COMMIT``: the WAL write and its fsync). The points:

* ``store.commit``: :meth:`sensor.sessions.store.Store.transaction`, the rows are written, ``COMMIT`` not yet run;
* ``mqtt.acked``: :class:`sensor.publish.mqtt_client.MqttPublisher`, a window of QoS 1 messages was published and
  acknowledged (PUBACK) by the broker, the outbox rows are not yet marked delivered.

When the variable is unset, :func:`crash_point` is one comparison with ``None``.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time

ENV_VAR = "HIPSENSE_TEST_CRASH_AT"
POINTS = ("store.commit", "mqtt.acked")


def parse_spec(spec: str | None) -> tuple[str, int, float | None] | None:
    """``"NAME[:N][@DELAY_S]"`` -> ``(name, n, delay_s)``; ``None`` or ``""`` -> ``None``."""
    if not spec:
        return None
    rest, _, delay = spec.partition("@")
    name, _, nth = rest.partition(":")
    if name not in POINTS:
        raise ValueError(f"{ENV_VAR}={spec!r}: unknown crash point {name!r}; use one of {', '.join(POINTS)}")
    try:
        n = int(nth) if nth else 1
        delay_s = float(delay) if delay else None
    except ValueError:
        raise ValueError(f"{ENV_VAR}={spec!r} is not NAME[:N][@DELAY_S] (N an integer, DELAY_S seconds)") from None
    if n < 1 or (delay_s is not None and delay_s < 0):
        raise ValueError(f"{ENV_VAR}={spec!r}: N must be >= 1 and DELAY_S >= 0")
    return name, n, delay_s


_SPEC = parse_spec(os.environ.get(ENV_VAR))
_hits = itertools.count(1)  # next() on a count is atomic under the GIL


KILL_LINE = "hipsense-test-crash-at-unix"


def _kill() -> None:
    # the instant of the kill on stderr, for the campaign's loss measure (the parent sees the death later)
    os.write(2, f"{KILL_LINE} {time.time():.6f}\n".encode())
    os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


def crash_point(name: str) -> None:
    """SIGKILL this process here if ``HIPSENSE_TEST_CRASH_AT`` names this point (test hook; see the module)."""
    if _SPEC is None or _SPEC[0] != name or next(_hits) != _SPEC[1]:
        return
    if _SPEC[2] is None:
        _kill()
    else:
        timer = threading.Timer(_SPEC[2], _kill)
        timer.daemon = True
        timer.start()
