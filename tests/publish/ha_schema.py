"""A pydantic model of Home Assistant's documented MQTT discovery schema (the parts HipSense uses).

Sources: https://www.home-assistant.io/integrations/mqtt/ (discovery, device-based discovery, abbreviations),
/integrations/sensor.mqtt/, /integrations/binary_sensor.mqtt/, /integrations/event.mqtt/, and the sensor and
binary_sensor device classes with their units. Abbreviated and full key names are both accepted, as Home Assistant
expands abbreviations; unknown keys are refused (Home Assistant rejects them too), which catches typos.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator


def _a(*names: str) -> Any:
    return Field(validation_alias=AliasChoices(*names))


def _ao(*names: str) -> Any:
    return Field(default=None, validation_alias=AliasChoices(*names))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Device(_Strict):
    identifiers: list[str] | str | None = _ao("ids", "identifiers")
    connections: list[list[str]] | None = _ao("cns", "connections")
    name: str | None = None
    manufacturer: str | None = _ao("mf", "manufacturer")
    model: str | None = _ao("mdl", "model")
    model_id: str | None = _ao("mdl_id", "model_id")
    sw_version: str | None = _ao("sw", "sw_version")
    hw_version: str | None = _ao("hw", "hw_version")
    serial_number: str | None = _ao("sn", "serial_number")
    suggested_area: str | None = _ao("sa", "suggested_area")
    via_device: str | None = None
    configuration_url: str | None = _ao("cu", "configuration_url")

    @model_validator(mode="after")
    def _needs_id(self) -> Device:
        if not self.identifiers and not self.connections:
            raise ValueError("device needs identifiers or connections")
        return self


class Origin(_Strict):
    name: str = Field(min_length=1)
    sw_version: str | None = _ao("sw", "sw_version")
    support_url: str | None = _ao("url", "support_url")


class Availability(_Strict):
    topic: str = _a("t", "topic")
    payload_available: str = Field(default="online", validation_alias=AliasChoices("pl_avail", "payload_available"))
    payload_not_available: str = Field(
        default="offline", validation_alias=AliasChoices("pl_not_avail", "payload_not_available")
    )
    value_template: str | None = _ao("val_tpl", "value_template")


SENSOR_DEVICE_CLASS_UNITS: dict[str, set[str]] = {
    "battery": {"%"},
    "signal_strength": {"dB", "dBm"},
    "temperature": {"°C", "°F", "K"},
    "duration": {"d", "h", "min", "s", "ms"},
}
STATE_CLASSES = {"measurement", "measurement_angle", "total", "total_increasing"}
BINARY_SENSOR_DEVICE_CLASSES = {"running", "moving", "motion", "problem", "connectivity", "battery", "occupancy"}


class _EntityBase(_Strict):
    platform: str  # each component narrows it to its Literal (the discriminator)
    name: str | None = None
    unique_id: str = _a("uniq_id", "unique_id")
    default_entity_id: str | None = _ao("def_ent_id", "default_entity_id")
    state_topic: str = _a("stat_t", "state_topic")
    value_template: str | None = _ao("val_tpl", "value_template")
    icon: str | None = _ao("ic", "icon")
    entity_category: Literal["config", "diagnostic"] | None = _ao("ent_cat", "entity_category")
    enabled_by_default: bool | None = _ao("en", "enabled_by_default")
    json_attributes_topic: str | None = _ao("json_attr_t", "json_attributes_topic")
    json_attributes_template: str | None = _ao("json_attr_tpl", "json_attributes_template")
    qos: Literal[0, 1, 2] | None = None
    availability: list[Availability] | None = _ao("avty", "availability")
    availability_mode: Literal["all", "any", "latest"] | None = _ao("avty_mode", "availability_mode")
    # present only in the per-component form
    device: Device | None = _ao("dev", "device")
    origin: Origin | None = _ao("o", "origin")

    @model_validator(mode="after")
    def _entity_id(self) -> _EntityBase:
        if self.default_entity_id is not None and not self.default_entity_id.startswith(self.platform + "."):
            raise ValueError(f"default_entity_id {self.default_entity_id!r} must start with {self.platform}.")
        return self


class SensorConfig(_EntityBase):
    platform: Literal["sensor"] = "sensor"
    unit_of_measurement: str | None = _ao("unit_of_meas", "unit_of_measurement")
    device_class: str | None = _ao("dev_cla", "device_class")
    state_class: str | None = _ao("stat_cla", "state_class")
    suggested_display_precision: int | None = _ao("sug_dsp_prc", "suggested_display_precision")
    expire_after: int | None = _ao("exp_aft", "expire_after")
    force_update: bool | None = _ao("frc_upd", "force_update")

    @model_validator(mode="after")
    def _classes(self) -> SensorConfig:
        if self.state_class is not None and self.state_class not in STATE_CLASSES:
            raise ValueError(f"state_class {self.state_class!r} not in {sorted(STATE_CLASSES)}")
        if self.device_class is not None:
            units = SENSOR_DEVICE_CLASS_UNITS.get(self.device_class)
            if units is None:
                raise ValueError(f"unknown sensor device_class {self.device_class!r}")
            if self.unit_of_measurement not in units:
                raise ValueError(f"device_class {self.device_class} needs a unit in {units}")
        return self


class BinarySensorConfig(_EntityBase):
    platform: Literal["binary_sensor"] = "binary_sensor"
    device_class: str | None = _ao("dev_cla", "device_class")
    payload_on: str | None = _ao("pl_on", "payload_on")
    payload_off: str | None = _ao("pl_off", "payload_off")
    off_delay: int | None = None

    @model_validator(mode="after")
    def _cls(self) -> BinarySensorConfig:
        if self.device_class is not None and self.device_class not in BINARY_SENSOR_DEVICE_CLASSES:
            raise ValueError(f"unknown binary_sensor device_class {self.device_class!r}")
        return self


class EventConfig(_EntityBase):
    platform: Literal["event"] = "event"
    event_types: list[str] = Field(min_length=1, validation_alias=AliasChoices("evt_typ", "event_types"))
    device_class: Literal["button", "doorbell", "motion"] | None = _ao("dev_cla", "device_class")


Component = Annotated[SensorConfig | BinarySensorConfig | EventConfig, Field(discriminator="platform")]


class DeviceDiscovery(_Strict):
    """``<prefix>/device/<node_id>/config``: device, origin and components are required; each component needs
    its platform and a unique_id."""

    device: Device = _a("dev", "device")
    origin: Origin = _a("o", "origin")
    components: dict[str, Component] = Field(min_length=1, validation_alias=AliasChoices("cmps", "components"))
    availability: list[Availability] | None = _ao("avty", "availability")
    availability_mode: Literal["all", "any", "latest"] | None = _ao("avty_mode", "availability_mode")
    state_topic: str | None = _ao("stat_t", "state_topic")
    qos: Literal[0, 1, 2] | None = None

    @model_validator(mode="before")
    @classmethod
    def _platform_key(cls, data: Any) -> Any:
        # The discriminator must see "platform"; Home Assistant accepts the abbreviation "p".
        if isinstance(data, dict):
            for key in ("cmps", "components"):
                if isinstance(data.get(key), dict):
                    data = {**data, key: {k: _expand_p(v) for k, v in data[key].items()}}
        return data


def _expand_p(c: Any) -> Any:
    if isinstance(c, dict) and "p" in c:
        c = {("platform" if k == "p" else k): v for k, v in c.items()}
    return c


def validate_component(platform: str, payload: dict[str, Any]) -> BaseModel:
    model: type[BaseModel] = {"sensor": SensorConfig, "binary_sensor": BinarySensorConfig, "event": EventConfig}[
        platform
    ]
    out = model.model_validate(payload)
    if payload.get("device", payload.get("dev")) is None or payload.get("origin", payload.get("o")) is None:
        raise ValueError("a per-component config needs device and origin")
    return out
