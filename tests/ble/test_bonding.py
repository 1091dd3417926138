"""Bonds that outlive the process: pair in one virtual world, reconnect encrypted from a fresh one.

Each :class:`VirtualWorld` is what one ``hipsense`` process builds: its own link, its own gateway central and its
own virtual sensors. With ``keys_dir`` both sides keep their bonding keys in files (the sensor as a real sensor
keeps them in flash), so two worlds one after the other are two processes sharing nothing but those files. The
sensor takes commands only from its bonded host (``require_encryption``: unencrypted writes get ATT error 0x0F).
"""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest
from bleak import BleakClient
from bleak.exc import BleakError
from bumble.device import Connection, Device

from firmware_proto.virtual_sensor import VirtualSensorConfig, VirtualWorld, sensor_address
from sensor.ble.bumble_backend import BumbleClient, PrivateJsonKeyStore, forget_bonds
from sensor.ble.link import BleBackend, BleGateway, SensorLink
from sensor.protocol import hipsense_v1 as v1

ADDRESS = sensor_address(1)


def _world(keys_dir: Path) -> VirtualWorld:
    return VirtualWorld([VirtualSensorConfig(address=ADDRESS, require_encryption=True)], speed=5.0, keys_dir=keys_dir)


def _count_pairings(world: VirtualWorld) -> list[Connection]:
    """Connections of the sensor on which a pairing started (filled as they happen)."""
    paired: list[Connection] = []

    def on_connection(connection: Connection) -> None:
        connection.on(Connection.EVENT_PAIRING_START, lambda: paired.append(connection))

    world.sensors[0].device.on(Device.EVENT_CONNECTION, on_connection)
    return paired


async def _pair_once(keys_dir: Path) -> None:
    """``hipsense pair``: one world that bonds, writes a command on the encrypted link, and ends."""
    async with (
        _world(keys_dir) as world,
        BleakClient(ADDRESS, backend=BumbleClient, bumble=world.central, pair=True) as client,
    ):
        await client.write_gatt_char(v1.CONTROL_UUID, v1.stop_command(), response=True)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_pairing_is_le_secure_connections_and_stored_owner_only(tmp_path: Path) -> None:
    keys_dir = tmp_path / "data" / "virtual-ble"
    async with (
        _world(keys_dir) as world,
        BleakClient(ADDRESS, backend=BumbleClient, bumble=world.central, pair=True),
    ):
        connection = next(iter(world.central.device.connections.values()))
        # What Bumble reports for the link: encrypted, LE Secure Connections. Bumble's Connection.authenticated
        # only means "paired"; the MITM property is the key's own flag below.
        assert connection.is_encrypted
        assert connection.sc
        assert connection.authenticated  # Bumble's word for "paired on this connection"
        keys = await world.central.device.keystore.get(str(connection.peer_address))
    assert keys is not None
    assert keys.ltk is not None  # SC pairing yields one LTK for both roles; legacy pairing stores ltk_central
    assert keys.ltk_central is None
    assert keys.ltk_peripheral is None
    # Just Works (the sensor has no display or keys): an unauthenticated key, no MITM protection (docs/security.md)
    assert keys.ltk.authenticated is False
    host_file = keys_dir / "gateway-keys.json"
    assert _mode(keys_dir) == 0o700
    assert _mode(host_file) == 0o600
    assert _mode(keys_dir / "sensor-keys.json") == 0o600
    stored = json.loads(host_file.read_text(encoding="utf-8"))
    assert keys.ltk.value.hex() in json.dumps(stored)  # the file is what a later process loads


async def test_a_later_process_reconnects_encrypted_without_pairing_again(tmp_path: Path) -> None:
    keys_dir = tmp_path / "virtual-ble"
    await _pair_once(keys_dir)

    async with _world(keys_dir) as second:  # fresh central, fresh sensor: only the files are shared
        pairings = _count_pairings(second)
        async with BleakClient(ADDRESS, backend=BumbleClient, bumble=second.central) as client:  # no pair=True
            connection = next(iter(second.central.device.connections.values()))
            assert connection.is_encrypted
            # the sensor accepts the command: it sees its bonded host on an encrypted link
            await client.write_gatt_char(v1.CONTROL_UUID, v1.stop_command(), response=True)
        assert pairings == []

    # the whole link supervisor (start, SET_RATE and backlog writes need the bond) streams from it
    async with _world(keys_dir) as third:
        pairings = _count_pairings(third)
        link = SensorLink("hip", ADDRESS, backend=BleBackend(third.central), clock=third.clock)
        async with BleGateway([link]):
            while link.stats.frames < 20:
                await third.clock.sleep(0.1)
        assert link.stats.connects == 1
        assert link.stats.failed_attempts == 0
        assert pairings == []


async def test_a_sensor_that_lost_the_bond_gets_a_clear_error(tmp_path: Path) -> None:
    keys_dir = tmp_path / "virtual-ble"
    await _pair_once(keys_dir)
    (keys_dir / "sensor-keys.json").unlink()  # the sensor was reset
    async with _world(keys_dir) as second:
        client = BleakClient(ADDRESS, backend=BumbleClient, bumble=second.central)
        with pytest.raises(BleakError, match=r"refused our stored bonding keys.*hipsense pair"):
            await client.connect()


async def test_a_keys_file_readable_by_others_is_tightened_and_forget_removes_the_bond(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keys_dir = tmp_path / "virtual-ble"
    await _pair_once(keys_dir)
    host_file = keys_dir / "gateway-keys.json"
    host_file.chmod(0o644)
    store = PrivateJsonKeyStore(host_file, namespace="C0:FF:EE:00:00:01")
    with caplog.at_level(logging.WARNING):
        assert [name for name, _ in await store.get_all()] == [ADDRESS]
    assert _mode(host_file) == 0o600
    assert "readable by other users" in caplog.text
    assert forget_bonds(host_file, ADDRESS) == 1
    assert await store.get_all() == []
    assert _mode(host_file) == 0o600
    assert forget_bonds(tmp_path / "missing.json", ADDRESS) == 0


def test_cli_pair_then_a_later_stream_encrypts_with_the_stored_bond_and_forget_deletes_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CLI wiring: each command builds its own virtual world (as its own process would); only the data
    directory (``HIPSENSE_DATA_DIR``, set per test by tests/conftest.py) carries the bond from one to the next."""
    from sensor.cli import main

    monkeypatch.setenv("HIPSENSE_BLE", "virtual:1")
    assert main(["pair", "HipSense-0001"]) == 0
    assert "bonded" in capsys.readouterr().out
    keys = tmp_path / "data" / "virtual-ble" / "gateway-keys.json"
    assert _mode(keys) == 0o600
    assert _mode(keys.parent) == 0o700
    with caplog.at_level(logging.DEBUG, logger="sensor.ble.bumble_backend"):
        assert main(["stream", "hipsense-0001", "--duration", "2", "--speed", "10", "--json"]) == 0
    assert "link encrypted with the stored bond" in caplog.text
    capsys.readouterr()
    assert main(["forget", "hipsense-0001"]) == 0
    assert f"deleted the bonding keys of {ADDRESS}" in capsys.readouterr().out
    assert ADDRESS not in keys.read_text(encoding="utf-8")


async def test_bonding_keys_never_reach_the_logs_even_at_debug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Bumble logs HCI packets (LTK replies), LL PDUs and SMP's DH key at DEBUG: the backend masks them."""
    caplog.set_level(logging.DEBUG)
    keys_dir = tmp_path / "virtual-ble"
    await _pair_once(keys_dir)
    async with _world(keys_dir) as world, BleakClient(ADDRESS, backend=BumbleClient, bumble=world.central):
        keys = await world.central.device.keystore.get(ADDRESS)
    assert keys is not None
    assert keys.ltk is not None
    ltk = keys.ltk.value
    assert "DH key: <redacted>" in caplog.text  # the pairing's DEBUG records were captured, masked
    assert "long_term_key" in caplog.text  # and so were the encryption's HCI packets
    for form in (ltk.hex(), ltk[::-1].hex(), ltk.hex().upper(), ltk[::-1].hex().upper(), repr(ltk)[2:-1]):
        assert form not in caplog.text
