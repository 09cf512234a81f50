"""Trust anchors of a terminal: its device identity (key, certificate request), a local CA for development
and tests, and the generated mosquitto configuration that enforces the contract's ACLs."""
from kiosk.trust.ca import DEFAULT_SERVER_NAMES, Issued, LocalCA
from kiosk.trust.identity import (BadDeviceId, DeviceFiles, check_device_id, checked_request, common_name,
                                  provision_device)
from kiosk.trust.mosquitto import (BadBrokerSettings, BrokerFiles, BrokerSettings, acl_text, conf_text,
                                   load_devices, write_broker_config)
from kiosk.trust.pem import AlreadyExists, BadMaterial, TrustError, load_cert, load_csr
from kiosk.trust.signing import Rotation, check_public_key, plan_rotation, read_public_keys, toml_tables

__all__ = ["AlreadyExists", "BadBrokerSettings", "BadDeviceId", "BadMaterial", "BrokerFiles", "BrokerSettings",
           "DEFAULT_SERVER_NAMES", "DeviceFiles", "Issued", "LocalCA", "TrustError", "acl_text",
           "check_device_id", "checked_request", "common_name", "conf_text", "load_cert", "load_csr",
           "load_devices", "provision_device", "write_broker_config", "Rotation", "check_public_key",
           "plan_rotation", "read_public_keys", "toml_tables"]
