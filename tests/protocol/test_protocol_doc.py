"""PROTOCOL.md states numbers that code computes: keep them in sync."""

from __future__ import annotations

import re
from pathlib import Path

from firmware_proto import link_budget
from firmware_proto.micropython import hsproto as P
from firmware_proto.vectors import load

DOC = (Path(__file__).resolve().parents[2] / "firmware_proto" / "PROTOCOL.md").read_text()


def test_link_budget_table_in_the_doc_is_the_computed_one() -> None:
    m = re.search(r"<!-- link-budget-table.*?-->\n(.*?)\n<!-- end link-budget-table -->", DOC, re.S)
    assert m is not None
    assert m.group(1) == link_budget.table(True)


def test_link_budget_physics() -> None:
    # a 27-byte LL payload takes (10 + 27) * 8 us on the 1M PHY; plus T_IFS, the empty ack and T_IFS
    assert link_budget.notification_airtime_us(23) == 296 + 150 + 80 + 150
    # at 7.5 ms the 247-byte notifications are air-time bound (3 fit), at MTU 23 the stack limit (4) binds
    assert link_budget.notifications_per_event(247, 7.5) == 3
    assert link_budget.notifications_per_event(23, 7.5) == 4
    for mtu in link_budget.MTUS:
        for ci in link_budget.INTERVALS_MS:
            hz = link_budget.highest_rate_hz(mtu, ci)
            assert hz is not None
            assert hz <= link_budget.samples_per_second(mtu, ci)


def test_uuids_and_example_packet_in_the_doc() -> None:
    for uuid in (P.SERVICE_UUID, P.DATA_UUID, P.CONTROL_UUID, P.STATUS_UUID, P.INFO_UUID):
        assert f"`{uuid}`" in DOC
    v = next(v for v in load("data_packets.json")["vectors"] if v["name"] == "one_g_z_8g")
    m = re.search(r"vector `one_g_z_8g`\): `([0-9a-f ]+)`", DOC)
    assert m is not None
    assert m.group(1).replace(" ", "") == v["hex"]


def test_samples_per_packet_table_in_the_doc() -> None:
    for mtu in (23, 104, 185, 247, 517):
        row = re.search(rf"^\| {mtu}\b[^|]*\| (\d+) B \| \**(\d+)\** \| (\d+) \|", DOC, re.M)
        assert row is not None, mtu
        assert int(row.group(1)) == mtu - 3
        assert int(row.group(2)) == P.max_samples_per_packet(mtu, True)
        assert int(row.group(3)) == P.max_samples_per_packet(mtu, False)
