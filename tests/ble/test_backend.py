"""The Bleak backend on Bumble, through Bleak's public API, against virtual sensors on an in-process link."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError

from firmware_proto.virtual_sensor import VirtualSensorConfig, VirtualWorld, sensor_address
from sensor.ble.bumble_backend import BumbleClient, BumbleScanner
from sensor.protocol import hipsense_v1 as v1
from sensor.protocol import registry

BATTERY_SERVICE = registry.uuid16(0x180F)
BATTERY_LEVEL = registry.uuid16(0x2A19)


def _world() -> VirtualWorld:
    return VirtualWorld(
        [
            VirtualSensorConfig(address=sensor_address(1), battery_pct=64),
            VirtualSensorConfig(address=sensor_address(2), kind="witmotion", sampling_rate_hz=100.0),
            VirtualSensorConfig(address=sensor_address(3), kind="polar", sampling_rate_hz=52.0),
            VirtualSensorConfig(address=sensor_address(4), kind="polar", polar_model="h10", sampling_rate_hz=100.0),
        ]
    )


async def test_scan_finds_each_sensor_with_its_type_name_rssi_and_battery() -> None:
    async with _world() as world:
        found = await BleakScanner.discover(timeout=0.3, return_adv=True, backend=BumbleScanner, bumble=world.central)
        by_address = {address: adv for address, (_, adv) in found.items()}
        assert set(by_address) == {sensor_address(i) for i in (1, 2, 3, 4)}
        types = {}
        for address, adv in by_address.items():
            spec = registry.recognise(adv.local_name, adv.service_uuids, adv.manufacturer_data)
            assert spec is not None, adv
            types[address] = spec.name
            assert -100 < adv.rssi < 0
        assert types == {
            sensor_address(1): "hipsense_v1",
            sensor_address(2): "witmotion",
            sensor_address(3): "polar",
            sensor_address(4): "polar",
        }
        hipsense = by_address[sensor_address(1)]
        assert hipsense.local_name == "HipSense-0001"
        assert hipsense.service_uuids == [v1.SERVICE_UUID]  # lowercase canonical
        assert hipsense.service_data[BATTERY_SERVICE] == bytes([64])
        assert by_address[sensor_address(4)].local_name.startswith("Polar H10")


async def test_scanner_filters_on_service_uuid() -> None:
    async with _world() as world:
        found = await BleakScanner.discover(
            timeout=0.3, service_uuids=[v1.SERVICE_UUID.upper()], backend=BumbleScanner, bumble=world.central
        )
        assert [d.address for d in found] == [sensor_address(1)]


async def test_gatt_read_write_notify_and_att_errors() -> None:
    async with _world() as world:
        device = await BleakScanner.find_device_by_address(
            sensor_address(1), timeout=2.0, backend=BumbleScanner, bumble=world.central
        )
        assert device is not None
        async with BleakClient(device, backend=BumbleClient, bumble=world.central) as client:
            assert client.is_connected
            assert client.mtu_size == 247
            char = client.services.get_characteristic(v1.DATA_UUID)
            assert char is not None
            assert char.properties == ["notify"]
            assert client.services.get_characteristic(v1.CONTROL_UUID).properties == ["write", "indicate"]
            assert char.handle == world.sensors[0].data_char.handle  # the value handle
            assert bytes(await client.read_gatt_char(BATTERY_LEVEL)) == bytes([64])
            info = v1.decode_info(bytes(await client.read_gatt_char(v1.INFO_UUID)))  # > MTU 23: read blob
            assert info.buffer_capacity == 8192
            responses: list[bytes] = []
            data: list[bytes] = []
            enough = asyncio.Event()

            def on(target: list[bytes]) -> Callable[[object, bytearray], None]:
                def callback(_c: object, d: bytearray) -> None:
                    target.append(bytes(d))
                    if len(data) >= 3 and len(responses) >= 2:
                        enough.set()

                return callback

            await client.start_notify(v1.CONTROL_UUID, on(responses))
            await client.start_notify(v1.DATA_UUID, on(data))
            await client.write_gatt_char(v1.CONTROL_UUID, v1.start_command(), response=True)
            await client.write_gatt_char(v1.CONTROL_UUID, b"\x42", response=True)  # unknown op code
            async with asyncio.timeout(5):
                await enough.wait()
            assert v1.decode_response(responses[0]).ok
            assert v1.decode_response(responses[1]).result == 0x02  # not supported, answered on the control point
            packet = v1.decode_packet(data[0])
            assert packet.sampling_rate_hz == 208.0
            await client.stop_notify(v1.DATA_UUID)


async def test_remote_disconnect_calls_back_and_reconnect_by_address_string() -> None:
    async with _world() as world:
        dropped = asyncio.Event()
        client = BleakClient(
            sensor_address(1),
            disconnected_callback=lambda _c: dropped.set(),
            backend=BumbleClient,
            bumble=world.central,
        )
        await client.connect()
        connection = next(iter(world.sensors[0].device.connections.values()))
        await connection.disconnect()
        async with asyncio.timeout(2):
            await dropped.wait()
        assert not client.is_connected
        with pytest.raises(BleakError):
            await client.read_gatt_char(BATTERY_LEVEL)
        await client.connect()
        assert client.is_connected
        await client.disconnect()
        assert not client.is_connected


async def test_connect_to_a_silent_address_fails_within_the_timeout() -> None:
    async with _world() as world:
        client = BleakClient("D0:00:00:00:0F:FF", timeout=0.3, backend=BumbleClient, bumble=world.central)
        with pytest.raises(BleakDeviceNotFoundError):
            await client.connect()


async def test_att_errors_map_to_bleak_and_pairing_uses_le_secure_connections_and_bonds() -> None:
    config = VirtualSensorConfig(address=sensor_address(1), require_encryption=True)
    async with VirtualWorld([config]) as world:
        async with BleakClient(sensor_address(1), backend=BumbleClient, bumble=world.central) as client:
            with pytest.raises(BleakGATTProtocolError) as ei:
                await client.write_gatt_char(v1.CONTROL_UUID, v1.start_command(), response=True)
            assert int(ei.value.code) == 0x0F  # insufficient encryption: the sensor wants a bonded host
        async with BleakClient(sensor_address(1), backend=BumbleClient, bumble=world.central, pair=True) as client:
            assert client.is_connected
            connection = next(iter(world.central.device.connections.values()))
            assert connection.is_encrypted
            await client.write_gatt_char(v1.CONTROL_UUID, v1.start_command(), response=True)
            keys = await world.central.device.keystore.get(str(connection.peer_address))
            assert keys is not None
            assert keys.ltk is not None
            await client.unpair()
            assert await world.central.device.keystore.get(str(connection.peer_address)) is None


async def test_backend_without_a_central_says_how_to_give_one() -> None:
    with pytest.raises(BleakError, match="bumble="):
        await BleakScanner.discover(timeout=0.1, backend=BumbleScanner)
