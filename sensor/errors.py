"""The one error root of HipSense and its data-carrying subclasses.

Every error HipSense raises on purpose derives from :class:`HipSenseError`, and also from the standard
exception type that fits (``ValueError``, ``ConnectionError``, ``OSError`` ...), as bumble does, so callers can
catch either. Each subclass carries the values involved as attributes and its message names the value and
the fix.
"""

from __future__ import annotations


class HipSenseError(Exception):
    """Root of every HipSense error."""


class UsageError(HipSenseError, ValueError):
    """Bad command-line usage or bad argument value; the CLI maps it to exit code 2."""

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        super().__init__(message)
        self.argument = argument


class DataValidationError(HipSenseError, ValueError):
    """Data that breaks the core data contract (shapes, units, monotonic time, finiteness).

    Attributes:
        field: the field that is wrong (``"t_s"``, ``"acc_mps2"`` ...).
        index: the first offending sample index, when there is one.
    """

    def __init__(self, message: str, *, field: str, index: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.index = index


class PacketError(HipSenseError, ValueError):
    """A notification payload that cannot be decoded.

    Attributes:
        offset: byte offset in the payload where the problem was found.
        reason: a short machine-readable reason (``"short"``, ``"version"``, ``"length"`` ...).
        sensor_type: the codec that refused it.
    """

    def __init__(self, message: str, *, offset: int, reason: str, sensor_type: str = "hipsense_v1") -> None:
        super().__init__(message)
        self.offset = offset
        self.reason = reason
        self.sensor_type = sensor_type


class ConfigError(HipSenseError, ValueError):
    """The configuration file or a configuration value is invalid.

    Attributes:
        path: the config file involved, if any.
        key: the dotted key that is wrong, if known.
    """

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.key = key


class ScenarioError(HipSenseError, ValueError):
    """A simulator scenario that cannot be built (bad parameter, unknown activity)."""

    def __init__(self, message: str, *, segment: int | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.segment = segment
        self.key = key


class ImportFormatError(HipSenseError, ValueError):
    """A file that cannot be imported.

    Attributes:
        path: the file.
        line: 1-based line number of the problem, if known.
        column: the column name involved, if known.
    """

    def __init__(self, message: str, *, path: str, line: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.column = column


class SensorNotFoundError(HipSenseError, LookupError):
    """No sensor matches the given name, alias or address."""

    def __init__(self, message: str, *, query: str) -> None:
        super().__init__(message)
        self.query = query


class LinkError(HipSenseError, ConnectionError):
    """The BLE link could not be set up or was lost (no adapter, Bluetooth off, connect timeout ...)."""

    def __init__(self, message: str, *, address: str | None = None, reason: str = "link") -> None:
        super().__init__(message)
        self.address = address
        self.reason = reason


class BrokerError(HipSenseError, ConnectionError):
    """The MQTT broker cannot be reached or refused us (bad URL, wrong password, TLS mismatch)."""

    def __init__(self, message: str, *, url: str, reason: str) -> None:
        super().__init__(message)
        self.url = url  # always with the password removed
        self.reason = reason


class StoreError(HipSenseError, OSError):
    """The session store cannot be opened or written (disk full, read-only, corrupt).

    Attributes:
        path: the store file.
    """

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class SessionNotFoundError(HipSenseError, LookupError):
    """No recorded session has this id or name."""

    def __init__(self, message: str, *, session: str) -> None:
        super().__init__(message)
        self.session = session


class CommandRejectedError(HipSenseError, RuntimeError):
    """A sensor answered a control-point command with an error result code.

    Attributes:
        opcode: the command's op code.
        result: the sensor's result code (see ``firmware_proto/PROTOCOL.md``).
    """

    def __init__(self, message: str, *, opcode: int, result: int) -> None:
        super().__init__(message)
        self.opcode = opcode
        self.result = result
