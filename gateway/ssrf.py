"""Where a webhook may point: http or https, at a host whose every address
is public. Checked when a webhook is created or changed and again at every
delivery, against the addresses the request then connects to (a name that
resolved to a public address yesterday may resolve to 127.0.0.1 today: DNS
rebinding). ``CADENA_WEBHOOK_ALLOW_PRIVATE=1`` lifts the address check for
development; ``CADENA_WEBHOOK_ALLOWED_NETWORKS`` narrows destinations to
listed networks whatever else holds."""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# Cloud instance metadata services (AWS, GCP, Azure, Oracle share the IPv4 one).
METADATA = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(ValueError):
    """A destination a webhook may not have; the message says why."""


def system_resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"The host {host} does not resolve ({exc.args[-1] if exc.args else exc}).") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def _embedded(ip: IPAddress) -> IPAddress | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64)."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.ip_address(int(ip) & 0xFFFFFFFF)
    return None


def why_not_public(ip: IPAddress) -> str | None:
    """What kind of non-public address ``ip`` is, or None when it is public."""
    inner = _embedded(ip)
    if inner is not None:
        return why_not_public(inner)
    for kind, flag in (("cloud metadata", ip in METADATA), ("loopback", ip.is_loopback),
                       ("unspecified", ip.is_unspecified), ("link-local", ip.is_link_local),
                       ("multicast", ip.is_multicast), ("private", ip.is_private),
                       ("reserved", ip.is_reserved or not ip.is_global)):
        if flag:
            return kind
    return None


@dataclass(frozen=True)
class Target:
    """A checked destination: where to connect and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str  # with its query
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


@dataclass(frozen=True)
class UrlGuard:
    allow_private: bool = False
    networks: tuple = ()  # ipaddress networks; empty: anywhere the other rules allow
    resolve: Resolver = field(default=system_resolve)

    @classmethod
    def from_settings(cls, settings, resolve: Resolver = system_resolve) -> "UrlGuard":
        networks = tuple(ipaddress.ip_network(n, strict=False) for n in settings.webhook_allowed_networks)
        return cls(settings.webhook_allow_private, networks, resolve)

    def check(self, url: str) -> Target:
        """The destination, every address of its host allowed; else Refused."""
        scheme, host, port, path = parse(url)
        addresses = self.resolve(host, port)
        if not addresses:
            raise Refused(f"The host {host} has no address.")
        for address in addresses:
            self._check_address(host, ipaddress.ip_address(address.split("%", 1)[0]))
        return Target(scheme, host, port, path, tuple(addresses))

    def _check_address(self, host: str, ip: IPAddress) -> None:
        if self.networks and not any(ip in network for network in self.networks):
            raise Refused(f"{host} resolves to {ip}, outside the networks webhooks may reach here.")
        kind = None if self.allow_private else why_not_public(ip)
        if kind:
            raise Refused(f"{host} resolves to {ip}, a {kind} address; webhooks may only reach public addresses.")


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path and query) of an http(s) URL; else Refused."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise Refused("A URL has no spaces or control characters (percent-encode them).")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("Not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise Refused("Only http and https URLs are allowed.")
    if not parts.hostname:
        raise Refused("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise Refused("Credentials in the URL are not supported; the signature authenticates Cadena.")
    if parts.fragment:
        raise Refused("A webhook URL has no fragment (#…).")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path
