"""HipSense: hip stability and glute training from one hip-worn IMU.

The import package is ``sensor``; the command is ``hipsense``. Data flows one way:
sources (BLE, replay, import) -> codecs (``sensor.protocol``) -> ``ImuBlock`` -> pipeline stages
(``sensor.pipeline``) -> events and metrics -> sinks (recorder, MQTT, terminal, web).
See ``sensor.model`` for the data contract and ``sensor.frames`` for frames and sign conventions.
"""

from importlib.metadata import PackageNotFoundError, version

from sensor.errors import HipSenseError
from sensor.model import ImuBlock, RawFrame

try:
    __version__ = version("hipsense")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"

__all__ = ["HipSenseError", "ImuBlock", "RawFrame", "__version__"]
