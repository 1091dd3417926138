"""Board specifics of the Arduino Nano RP2040 Connect: pins, battery sense, wearing hint. Keep this file thin.

Everything else (protocol, ring buffer, commands, clock) is board-independent; a port to another board with an
ST LSM6DS IMU changes only this file.
"""

import machine

NAME_PREFIX = "HipSense-"
MANUFACTURER = "HipSense (open hardware)"
MODEL = "HipSense proto / Arduino Nano RP2040 Connect"
HARDWARE_REVISION = "nano-rp2040-connect + LiPo"

# LSM6DSOX on I2C0 (GPIO12 SDA, GPIO13 SCL), address 0x6A (Arduino ABX00053 schematic).
I2C_ID = 0
I2C_SDA = 12
I2C_SCL = 13
I2C_FREQ = 400_000
IMU_ADDRESS = 0x6A

# Battery: LiPo + through a 100k/100k divider into A0 (GPIO26, ADC0). See README "Power".
BATTERY_ADC_PIN = 26
BATTERY_DIVIDER = 2.0
ADC_REF_MV = 3300

# Wearing hint reported in the info characteristic (PROTOCOL.md section 5). 0 = unknown; set these after the
# standing check in README "How to wear it" (the axis reading +1 g when you stand is "up").
MOUNTING = "sacrum"
UP_AXIS = 0
FORWARD_AXIS = 0

_adc = None


def i2c():
    return machine.I2C(I2C_ID, sda=machine.Pin(I2C_SDA), scl=machine.Pin(I2C_SCL), freq=I2C_FREQ)


def battery_mv():
    """LiPo voltage in mV, or 0 when no battery sense divider is fitted (reads near 0 V)."""
    global _adc
    if _adc is None:
        _adc = machine.ADC(BATTERY_ADC_PIN)
    raw = 0
    for _ in range(8):
        raw += _adc.read_u16()
    mv = int(raw / 8 * ADC_REF_MV / 65535 * BATTERY_DIVIDER)
    return mv if mv > 2500 else 0


def unique_suffix():
    """Last two bytes of the board's unique id, for the advertised name."""
    uid = machine.unique_id()
    return "%02X%02X" % (uid[-2], uid[-1])
