"""The crawl's DNS resolver: every name resolved once per crawl and pinned, ``NETWORK_HOSTS`` first.

The network boundary (crawler.network.boundary, applied by
crawler.middlewares.network_boundary) checks the address a request's host resolves to before the
request is sent; the download handler then resolves the name again to connect. Scrapy's caching
resolver would usually give the same answer, but it evicts (``DNSCACHE_SIZE``) and two lookups of
one name in flight at once may get different answers: a name that answers 93.184.216.34 to the
check and 10.0.0.7 to the connection (DNS rebinding) would pass. This resolver pins the first
answer of every name for the life of the crawl process (one crawl), so the address checked is the
address connected to. A crawl meets a bounded number of names (those of its source's hosts), so
the pins are kept without eviction.

``NETWORK_HOSTS`` (a dict, name → IPv4 address, like /etc/hosts) answers first: to crawl a copy of
a site on another server under the site's own names. Its answers go through the boundary like any
other. Installed by ``TWISTED_DNS_RESOLVER``; Scrapy builds it with the crawler process, before any
spider. Settings: ``NETWORK_HOSTS``, Scrapy's ``DNS_TIMEOUT``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from twisted.internet import defer
from twisted.internet.base import ReactorBase, ThreadedResolver
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer

from crawler.network.boundary import hosts_table


@implementer(IResolverSimple)
class PinnedResolver(ThreadedResolver):
    """Resolves through the system (IPv4, as Scrapy's default resolver), once per name per crawl."""

    def __init__(self, reactor: ReactorBase, timeout: float, hosts: Mapping[str, str]) -> None:
        super().__init__(reactor)
        self.timeout = timeout
        self.hosts = dict(hosts)
        self.pinned: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: ReactorBase) -> PinnedResolver:
        settings = crawler.settings
        return cls(reactor, settings.getfloat("DNS_TIMEOUT"), hosts_table(settings.getdict("NETWORK_HOSTS")))

    def install_on_reactor(self) -> None:
        self.reactor.installResolver(self)

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        key = name.strip().rstrip(".").lower()
        if key in self.hosts:
            return defer.succeed(self.hosts[key])
        if key in self.pinned:
            return defer.succeed(self.pinned[key])
        lookup = super().getHostByName(name, (self.timeout,))
        # Two lookups of one name in flight at once: both callers get the first answer.
        lookup.addCallback(lambda address: self.pinned.setdefault(key, address))
        return lookup
