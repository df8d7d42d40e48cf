"""The network boundary: which URLs and which addresses one source's crawl may reach.

One decision, applied by every component that sends a request (the downloader middleware
crawler.middlewares.network_boundary for every request, redirect and meta refresh, before robots.txt
is asked; the browser's request router crawler.browser.download_handler for every navigation and
subrequest of a rendered page; the spider for every link it considers):

- **Scheme**: http and https only.
- **Origin**: the host is one of the source's hosts (those of its ``start_urls``, ``feeds`` and
  ``sitemaps``, plus its ``allowed_hosts``) or a subdomain of one, "www." ignored, **and** the port
  is one the source uses on that host. Ports 80 and 443 count as one "default" port, so a site
  moving between http and https stays inside; ``http://news.example:8080/`` does not.
- **Address**: never a loopback, private, link-local, CGNAT (100.64.0.0/10), multicast, reserved or
  unspecified address, checked on the address the name resolves to (and on IP literals), so a public
  name that resolves to 10.0.0.7 is refused, unless the source itself is there: an address that one
  of the source's own host names (not a subdomain) resolves to is admitted for the crawl, which is
  how an intranet site or a test server on 127.0.0.1 is crawled. Another loopback address
  (127.0.0.2) or another port of the source's own address stays outside.

The address a name resolves to is pinned for the crawl (crawler.network.resolver), so the address
checked is the address connected to: DNS rebinding between the check and the connection is not a
way around the rule. No Scrapy here; no settings: a source widens its boundary with
``allowed_hosts`` in the sources file, and ``NETWORK_HOSTS`` only says where names resolve.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from archive.models import ReasonKind
from crawler.discovery.urls import DEFAULT_PORTS, host_key

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PORT = 0  # stands for "the scheme's default port" (80 for http, 443 for https)
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix: the last 32 bits are an IPv4 address


@dataclass(frozen=True)
class Refusal:
    """Why a URL or an address is outside the boundary: words for people, a kind for programs."""

    kind: ReasonKind  # OFF_SITE or PRIVATE_ADDRESS
    reason: str


def port_class(scheme: str, port: int | None) -> int:
    """The URL's port, or :data:`DEFAULT_PORT` when it is its scheme's default."""
    return DEFAULT_PORT if port is None or port == DEFAULT_PORTS.get(scheme) else port


def embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address carries and reaches (mapped ::ffff:a.b.c.d, 6to4, NAT64), else itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def address_class(address: IPAddress) -> str | None:
    """What kind of non-public address this is ("loopback", "private" …); None for a public one."""
    address = embedded_ipv4(address)
    for name, test in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("CGNAT", isinstance(address, ipaddress.IPv4Address) and address in CGNAT),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if test:
            return name
    return None if address.is_global else "non-public"


def parse_address(text: str) -> IPAddress | None:
    """The IP address a host string spells (``127.0.0.1``, ``::1``, ``[::1]``), None for a name."""
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def host_and_port(entry: str) -> tuple[str, int]:
    """An ``allowed_hosts`` entry (``cdn.news.example`` or ``cdn.news.example:8443``) as (host key, port class)."""
    parts = urlsplit(f"//{entry.strip()}")
    return host_key(parts.hostname or ""), port_class("https", parts.port)


class Boundary:
    """One source's boundary (see the module docstring); ``address_refusal`` admits the source's own addresses."""

    def __init__(self, urls: Iterable[str], allowed_hosts: Iterable[str] = ()) -> None:
        self.ports: dict[str, set[int]] = {}
        for url in urls:
            parts = urlsplit(url.strip())
            host = host_key(parts.hostname or "")
            if host:
                self.ports.setdefault(host, set()).add(port_class(parts.scheme.lower(), parts.port))
        for entry in allowed_hosts:
            host, port = host_and_port(entry)
            if host:
                self.ports.setdefault(host, set()).add(port)
        self.own_names = frozenset(self.ports)
        # Addresses the source's own names resolved to (or that they are): the source is there.
        self.own_addresses: set[IPAddress] = {
            address for address in map(parse_address, self.own_names) if address is not None
        }

    def shown_hosts(self) -> str:
        def shown(host: str, port: int) -> str:
            return host if port == DEFAULT_PORT else f"{host}:{port}"

        return ", ".join(sorted(shown(host, port) for host, ports in self.ports.items() for port in ports))

    def origin_refusal(self, url: str) -> Refusal | None:
        """Why ``url`` is outside by its scheme, host or port (no name resolution); None when inside."""
        try:
            parts = urlsplit(url.strip())
            scheme = parts.scheme.lower()
            port = parts.port
        except ValueError:
            return Refusal(ReasonKind.OFF_SITE, f"refused {url!r}: not a valid URL (its port?)")
        if scheme not in DEFAULT_PORTS:
            return Refusal(
                ReasonKind.OFF_SITE, f"refused a {scheme or 'relative'}: URL: only http and https are fetched"
            )
        host = host_key(parts.hostname or "")
        if not host:
            return Refusal(ReasonKind.OFF_SITE, f"refused {url!r}: it has no host")
        if parts.username is not None or parts.password is not None:
            # A redirect to user:password@host would send (and log, and store) credentials.
            return Refusal(ReasonKind.OFF_SITE, f"refused a URL of {host} that carries a user name or password")
        wanted = port_class(scheme, port)
        matching = [ports for allowed, ports in self.ports.items() if host == allowed or host.endswith("." + allowed)]
        if any(wanted in ports for ports in matching):
            return None
        where = f"{host}:{port}" if wanted != DEFAULT_PORT else host
        what = "another port of one of the source's hosts" if matching else "not one of the source's hosts"
        return Refusal(
            ReasonKind.OFF_SITE,
            f"refused {where}: {what} ({self.shown_hosts()}); if it belongs to the site, add it to the "
            "source's allowed_hosts",
        )

    def address_refusal(self, host: str, address: IPAddress | str) -> Refusal | None:
        """Why connecting to ``address`` for ``host`` is refused (a non-public address that is not the
        source's own); None when allowed. An own name's address is admitted as the source's own."""
        if isinstance(address, str):
            parsed = parse_address(address)
            if parsed is None:
                return Refusal(
                    ReasonKind.PRIVATE_ADDRESS, f"refused {host}: it resolved to {address!r}, not an IP address"
                )
            address = parsed
        kind = address_class(address)
        if kind is None or address in self.own_addresses:
            return None
        if host_key(host) in self.own_names:
            self.own_addresses.add(address)  # the source itself is on this address
            return None
        shown = host if host.strip("[]") == str(address) else f"{host} (resolves to {address})"
        return Refusal(
            ReasonKind.PRIVATE_ADDRESS,
            f"refused {shown}: a {kind} address, and not the source's own; a crawl reaches such addresses only "
            "when the source's own hosts are on them",
        )

    def url_refusal(self, url: str) -> Refusal | None:
        """:meth:`origin_refusal`, then :meth:`address_refusal` for a host written as an IP address."""
        refusal = self.origin_refusal(url)
        if refusal is not None:
            return refusal
        hostname = urlsplit(url.strip()).hostname or ""
        address = parse_address(hostname)
        return self.address_refusal(hostname, address) if address is not None else None

    def subrequest_refusal(self, url: str, addresses: Iterable[IPAddress | str]) -> Refusal | None:
        """For a rendered page's own requests (scripts, data): inside the origin rule, or on a public
        address (a page's code and data come from CDNs); never another port or a private address."""
        try:
            scheme = urlsplit(url.strip()).scheme.lower()
        except ValueError:
            return Refusal(ReasonKind.OFF_SITE, f"refused {url!r}: not a valid URL")
        if scheme in ("data", "blob"):
            return None  # made by the page itself, no network
        inside = self.origin_refusal(url) is None
        if scheme not in DEFAULT_PORTS:
            return Refusal(ReasonKind.OFF_SITE, f"refused a {scheme}: URL: only http and https are fetched")
        host = urlsplit(url.strip()).hostname or ""
        for address in addresses:
            parsed = parse_address(str(address))
            if parsed is None:
                continue
            if inside:
                refusal = self.address_refusal(host, parsed)
            elif address_class(parsed) is not None:
                where = urlsplit(url.strip()).netloc.rpartition("@")[2]
                if host.strip("[]") != str(parsed):
                    where += f" (resolves to {parsed})"
                refusal = Refusal(
                    ReasonKind.PRIVATE_ADDRESS,
                    f"refused {where}: a {address_class(parsed)} address, and not the source's own host and port",
                )
            else:
                refusal = None
            if refusal is not None:
                return refusal
        return None


def hosts_table(value: Mapping[str, Any]) -> dict[str, str]:
    """``NETWORK_HOSTS`` checked: names lower-cased, every value an IPv4 address; ValueError naming the entry."""
    table = {}
    for name, address in value.items():
        parsed = parse_address(str(address))
        if parsed is None or parsed.version != 4:
            raise ValueError(
                f"NETWORK_HOSTS maps {name!r} to {address!r}, which is not an IPv4 address "
                '(e.g. -s \'NETWORK_HOSTS={"news.example": "192.0.2.10"}\')'
            )
        table[str(name).strip().rstrip(".").lower()] = str(parsed)
    return table
