"""Where deliveries may go: customer webhook URLs are checked before any request is made.

By default only https URLs whose every address is public. Loopback, private, link-local (cloud
metadata at 169.254.169.254 among them), shared, multicast and reserved addresses are refused
unless an operator allows them: all of them (OPTOUT_WEBHOOK_ALLOW_PRIVATE, the local demo), or
named host:port pairs (OPTOUT_WEBHOOK_ALLOWED_HOSTS, the tests' receivers). Names are checked in
the HTTP client's resolver, so the address connected to is the address checked. Redirects are
never followed.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["DestinationRefused", "HOW_TO_ALLOW", "check_url", "refusal_for_address"]


class DestinationRefused(OSError):
    """A destination the service will not send to; the message says why."""


def refusal_for_address(address: str) -> str | None:
    """Why an IP address is not a public destination, or None when it is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for test, what in (
        (ip.is_loopback, "a loopback"),
        (ip.is_link_local, "a link-local (cloud metadata)"),
        (ip.is_private, "a private"),
        (ip.is_multicast, "a multicast"),
        (ip.is_unspecified, "an unspecified"),
        (ip.is_reserved, "a reserved"),
        (not ip.is_global, "a non-public"),
    ):
        if test:
            return f"{address} is {what} address"
    return None


def check_url(
    url: str, allow_http: bool, allow_private: bool, allowed_hosts: frozenset[str] = frozenset()
) -> None:
    """Raise DestinationRefused unless `url` is a destination we may send to."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise DestinationRefused(f"webhook URL {url!r} is not an absolute http(s) URL")
    if parts.scheme == "http" and not allow_http:
        raise DestinationRefused(
            f"webhook URL {url!r} is not https (plain http is allowed only with "
            "OPTOUT_WEBHOOK_ALLOW_HTTP=true, for local use)"
        )
    try:
        ipaddress.ip_address(parts.hostname)
    except ValueError:
        return  # a name: checked when it is resolved
    reason = refusal_for_address(parts.hostname)
    if reason and not allow_private and parts.netloc not in allowed_hosts:
        raise DestinationRefused(f"webhook URL {url!r} refused: {reason} {HOW_TO_ALLOW}")


HOW_TO_ALLOW = "(allowed only with OPTOUT_WEBHOOK_ALLOW_PRIVATE=true)"
