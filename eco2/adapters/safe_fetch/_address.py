"""Which network addresses a user-supplied URL may reach, and the resolver that finds them.

The policy is "public unicast only": loopback, private, link-local, multicast, reserved, unspecified,
shared (CGNAT) and documentation ranges are refused, for IPv4 and IPv6 alike. IPv6 forms that embed an
IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4
``2002::/16`` and Teredo) are refused when the embedded address would be, so ``::ffff:127.0.0.1`` cannot
stand in for ``127.0.0.1``.

An explicit allow-list of networks (the fetcher's constructor argument) overrides the policy; production
passes none, tests pass ``127.0.0.1/32`` to reach their local server.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port) -> addresses as strings``; injectable so tests can script DNS answers."""

# Python's ``is_global`` misses some special-purpose ranges on 3.11 (e.g. 192.0.0.0/24) and calls
# multicast "global"; these are refused explicitly as defence in depth.
_EXTRA_BLOCKED: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/96",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def parse_networks(networks: Iterable[str | IPNetwork]) -> tuple[IPNetwork, ...]:
    """Normalise an allow-list given as strings (``"127.0.0.1/32"``) or network objects."""
    return tuple(n if not isinstance(n, str) else ipaddress.ip_network(n, strict=True) for n in networks)


def canonical(address: IPAddress) -> IPAddress:
    """The address a socket really reaches: an IPv4-mapped IPv6 address is its IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses hidden inside an IPv6 address by the transition mechanisms."""
    found: list[ipaddress.IPv4Address] = []
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    packed = address.packed
    if address in _NAT64 or packed[:12] == bytes(12):  # NAT64 or IPv4-compatible (::a.b.c.d)
        found.append(ipaddress.IPv4Address(packed[12:]))
    return found


def _publicly_routable(address: IPAddress) -> bool:
    if (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    ):
        return False
    return not any(address in net for net in _EXTRA_BLOCKED if net.version == address.version)


def is_allowed(address: IPAddress, allow: Sequence[IPNetwork] = ()) -> bool:
    """Whether a fetch may connect to ``address`` (after IPv4-mapped normalisation)."""
    address = canonical(address)
    if any(address.version == net.version and address in net for net in allow):
        return True
    if not _publicly_routable(address):
        return False
    if isinstance(address, ipaddress.IPv6Address):
        return all(_publicly_routable(v4) for v4 in _embedded_ipv4(address))
    return True


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (A and AAAA), via the system resolver."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))
