"""Where central's MQTT client connects: the broker URL (``mqtt://`` or ``mqtts://``) and the TLS files
for an ``mqtts://`` broker."""
from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlparse

import paho.mqtt.client as mqtt


def parse_broker(url: str) -> tuple[str, int, bool]:
    """(host, port, tls) from ``mqtt://host:port``, ``mqtts://host:port`` or ``host:port``.
    Raises ValueError on anything else."""
    parsed = urlparse(url if "://" in url else f"mqtt://{url}")
    if parsed.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parsed.hostname:
        raise ValueError(f"bad broker URL {url!r}: expected mqtt://host:port")
    tls = parsed.scheme in ("mqtts", "ssl")
    return parsed.hostname, parsed.port or (8883 if tls else 1883), tls


@dataclass(frozen=True)
class TlsFiles:
    """Files for ``mqtts://``: the CA that signed the broker's certificate (None: the system CAs) and
    central's own client certificate and key (None: no client certificate). A broker with
    ``require_certificate`` needs the pair; its ACL then knows central by the certificate's CN."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise ValueError("--cert and --key go together (central's TLS client certificate)")

    @property
    def empty(self) -> bool:
        return self.ca is None and self.cert is None

    def check_for(self, tls: bool) -> None:
        """Raises ValueError when files are given for a plain ``mqtt://`` broker (they would be ignored
        silently, and central would talk in clear to a broker meant to be reached over TLS)."""
        if not tls and not self.empty:
            raise ValueError("--ca/--cert/--key need an mqtts:// broker URL")

    def apply(self, client: mqtt.Client) -> None:
        """Turns TLS on for ``client``. Raises OSError (ssl.SSLError, FileNotFoundError) when a file is
        missing or not a certificate/key, before any connection is tried."""
        for option, path in (("--ca", self.ca), ("--cert", self.cert), ("--key", self.key)):
            if path is not None and not os.path.isfile(path):
                raise FileNotFoundError(f"{option} {path}: no such file")
        client.tls_set(ca_certs=self.ca, certfile=self.cert, keyfile=self.key)
