"""Link budget of protocol v1: how many samples a BLE connection can carry (``python -m firmware_proto.link_budget``).

Model (stated in PROTOCOL.md, "Throughput"):

* LE 1M PHY with Data Length Extension (LL payload up to 251 bytes, so one notification of MTU <= 247 is one
  link-layer packet). A notification of ATT payload ``P = MTU - 3`` data bytes is an LL payload of ``P + 7``
  bytes (ATT opcode + handle 3, L2CAP header 4) and takes ``(10 + P + 7) * 8 us`` on air (preamble 1, access
  address 4, LL header 2, CRC 3 bytes).
* Each notification is acknowledged by an empty packet from the central: ``T_IFS + 80 us + T_IFS`` with
  ``T_IFS = 150 us``.
* The sensor sends at most ``notifications_per_event`` notifications per connection event (4: a conservative
  figure for phones and BlueZ; some stacks allow 6+) and never more than fit in the interval on air.
"""

from __future__ import annotations

try:
    from .micropython import hsproto as P
except ImportError:  # run as a plain script
    from micropython import hsproto as P  # type: ignore[no-redef]

T_IFS_US = 150.0
EMPTY_PDU_US = 80.0
US_PER_BYTE_1M = 8.0
LL_OVERHEAD_BYTES = 10  # preamble 1 + access address 4 + header 2 + CRC 3
ATT_L2CAP_BYTES = 7  # ATT opcode 1 + handle 2 + L2CAP length 2 + channel 2
DEFAULT_NOTIFICATIONS_PER_EVENT = 4
INTERVALS_MS = (7.5, 15.0, 30.0)
MTUS = (23, 104, 185, 247)


def notification_airtime_us(mtu: int) -> float:
    """One full notification plus the central's empty acknowledgement, in microseconds."""
    payload = mtu - P.ATT_NOTIFY_OVERHEAD
    on_air = (LL_OVERHEAD_BYTES + payload + ATT_L2CAP_BYTES) * US_PER_BYTE_1M
    return on_air + T_IFS_US + EMPTY_PDU_US + T_IFS_US


def notifications_per_event(mtu: int, interval_ms: float, stack_limit: int = DEFAULT_NOTIFICATIONS_PER_EVENT) -> int:
    return min(stack_limit, int(interval_ms * 1000.0 // notification_airtime_us(mtu)))


def samples_per_second(
    mtu: int, interval_ms: float, has_gyr: bool = True, stack_limit: int = DEFAULT_NOTIFICATIONS_PER_EVENT
) -> float:
    """Sustainable sample throughput: notifications per second x samples per notification."""
    per_s = notifications_per_event(mtu, interval_ms, stack_limit) * 1000.0 / interval_ms
    return per_s * P.max_samples_per_packet(mtu, has_gyr)


def highest_rate_hz(
    mtu: int, interval_ms: float, has_gyr: bool = True, stack_limit: int = DEFAULT_NOTIFICATIONS_PER_EVENT
) -> float | None:
    """The highest protocol sample rate the link sustains (``None`` if not even 52 Hz)."""
    cap = samples_per_second(mtu, interval_ms, has_gyr, stack_limit)
    ok = [hz for hz in P.RATE_HZ.values() if hz <= cap]
    return max(ok) if ok else None


def table(has_gyr: bool = True, stack_limit: int = DEFAULT_NOTIFICATIONS_PER_EVENT) -> str:
    """The Markdown table used in PROTOCOL.md."""
    kind = "6-axis" if has_gyr else "accelerometer-only"
    lines = [
        f"| ATT MTU | {kind} samples/packet | air time/packet | "
        + " | ".join(f"{ci:g} ms: pkts/event, samples/s, max rate" for ci in INTERVALS_MS)
        + " |",
        "|---|---|---|" + "---|" * len(INTERVALS_MS),
    ]
    for mtu in MTUS:
        cells = []
        for ci in INTERVALS_MS:
            n_ev = notifications_per_event(mtu, ci, stack_limit)
            sps = samples_per_second(mtu, ci, has_gyr, stack_limit)
            hz = highest_rate_hz(mtu, ci, has_gyr, stack_limit)
            cells.append(f"{n_ev}, {sps:,.0f}, {'none' if hz is None else f'{hz:g} Hz'}")
        lines.append(
            f"| {mtu} | {P.max_samples_per_packet(mtu, has_gyr)} | {notification_airtime_us(mtu):,.0f} us | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines)


def main() -> None:
    print(f"Assumption: at most {DEFAULT_NOTIFICATIONS_PER_EVENT} notifications per connection event, LE 1M PHY + DLE.")
    print(table(True))
    print()
    print(table(False))
    print()
    print("Worst case: 1 notification per connection event")
    print(table(True, stack_limit=1))


if __name__ == "__main__":
    main()
