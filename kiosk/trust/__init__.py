"""Trust anchors of a terminal: its device identity (key, certificate request), a local CA for development
and tests, and the generated mosquitto configuration that enforces the contract's ACLs."""
from kiosk.trust.ca import DEFAULT_SERVER_NAMES, Issued, LocalCA
from kiosk.trust.identity import (
                                  BadDeviceId,
                                  DeviceFiles,
                                  check_device_id,
                                  checked_request,
                                  common_name,
                                  provision_device,
)
from kiosk.trust.mosquitto import (
                                  BadBrokerSettings,
                                  BrokerFiles,
                                  BrokerSettings,
                                  acl_text,
                                  conf_text,
                                  load_devices,
                                  write_broker_config,
)
from kiosk.trust.pem import AlreadyExists, BadMaterial, TrustError, load_cert, load_csr
from kiosk.trust.signing import Rotation, check_public_key, plan_rotation, read_public_keys, toml_tables

__all__ = [
                                  "DEFAULT_SERVER_NAMES",
                                  "AlreadyExists",
                                  "BadBrokerSettings",
                                  "BadDeviceId",
                                  "BadMaterial",
                                  "BrokerFiles",
                                  "BrokerSettings",
                                  "DeviceFiles",
                                  "Issued",
                                  "LocalCA",
                                  "Rotation",
                                  "TrustError",
                                  "acl_text",
                                  "check_device_id",
                                  "check_public_key",
                                  "checked_request",
                                  "common_name",
                                  "conf_text",
                                  "load_cert",
                                  "load_csr",
                                  "load_devices",
                                  "plan_rotation",
                                  "provision_device",
                                  "read_public_keys",
                                  "toml_tables",
                                  "write_broker_config",
]
