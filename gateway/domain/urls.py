"""URLs that carry a credential travel over TLS: `https`, unless they stay on this machine."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from marshmallow import ValidationError

LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str | None) -> bool:
    """A host name or address of this machine: localhost, 127.0.0.0/8 or ::1."""
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_tls(url: str) -> None:
    """A marshmallow validator: https, or plain http to a loopback address only (a typo must
    not send a token, a secret or a signed alert in cleartext)."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not is_loopback(parts.hostname):
        raise ValidationError("must be https: it carries a credential (plain http only to "
                              "localhost, 127.0.0.0/8 or ::1)")


def redis_url_warning(url: str) -> str | None:
    """A warning for a plain `redis://` URL to another machine (its password and the leads
    travel in cleartext; a private network may be fine), None otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "redis" or is_loopback(parts.hostname):
        return None
    return (f"warning: REDIS_URL reaches {parts.hostname} over plain redis:// (no TLS): its "
            "password and every lead cross the network in cleartext; use rediss:// unless "
            "this is a private network")
