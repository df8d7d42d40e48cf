"""The site a page belongs to: its host names and declared names, the name to store for it, and
whether a string (a title segment, a byline) names the site rather than a story or a person.
No settings drive this module.
"""

from __future__ import annotations

import re
import unicodedata
from html import unescape as html_unescape
from typing import Any
from urllib.parse import urlsplit

import lxml.html

from crawler.extraction.jsonld import ld_person, publisher_name, types_of
from crawler.extraction.page import Meta, as_strings, clean, link_href

STOP_HOST_LABELS = frozenset({"www", "com", "net", "org", "co", "news", "m", "amp", "edition"})
# A site name longer than this is a page title or a company's legal name put in the wrong tag.
MAX_SITE_NAME_CHARS = 60
MIN_TITLE_KEY_CHARS = 20
DOMAIN_RE = re.compile(r"(?:https?://)?(?:www\.)?[\w-]+(?:\.[\w-]+)+/?", re.I)
# A company's legal form: the publisher's legal name, not the name readers know ("Verlag GmbH").
LEGAL_FORM_RE = re.compile(r"\b(?:GmbH|AG|KG|SE|S\.?L\.?|S\.?A\.?|Ltd|Inc|LLC|plc|B\.?V\.?|N\.?V\.?)\.?$")


def hosts(url: str, tree: lxml.html.HtmlElement, meta: Meta) -> tuple[str, ...]:
    """Host names of the page: where it was fetched and where it says it lives (canonical, og:url).

    A page served from a mirror, a proxy or a local copy still names its site by its canonical host.
    """
    hosts = []
    for address in (url, link_href(tree, "canonical"), meta.get("og:url")):
        try:
            host = (urlsplit(address or "").hostname or "").lower()
        except ValueError:
            continue
        if host and not re.fullmatch(r"[\d.:]+|localhost", host) and host not in hosts:
            hosts.append(host)
    return tuple(hosts)


def site_names(
    meta: Meta, objects: list[dict[str, Any]], article_ld: dict[str, Any], by_id: dict[str, dict[str, Any]]
) -> list[str]:
    names = [
        *meta.getall("og:site_name"),
        *meta.getall("application-name"),
        *meta.getall("apple-mobile-web-app-title"),
        *meta.getall("twitter:site"),
    ]
    publisher = article_ld.get("publisher")
    if isinstance(publisher, dict):
        names.append(ld_person(publisher, by_id)[0])
    for obj in objects:
        if {"WebSite", "NewsMediaOrganization"} & set(types_of(obj)):
            names.extend(as_strings(obj.get("name")))
    return [name for name in (clean(n) for n in names) if name]


def site_name(
    meta: Meta,
    article_ld: dict[str, Any],
    declared: list[str],
    trafilatura_sitename: str | None,
    titles: list[str],
    hosts: tuple[str, ...],
) -> str | None:
    """The site's name as readers know it: og:site_name, the JSON-LD publisher or website name, the
    app name or trafilatura's, the first that is a name. A handle ("@site"), a URL, a page title and
    an over-long string are not; a bare host in lower case ("example.com") or a company's legal name
    ("Example Verlag GmbH") only when nothing else names the site.
    """
    candidates = [
        *meta.getall("og:site_name"),
        publisher_name(article_ld),
        *declared,
        trafilatura_sitename,
    ]
    # A page title as the site name (a theme's bug); a short title may be the site's name itself.
    title_keys = {key for key in (name_key(title) for title in titles) if len(key) >= MIN_TITLE_KEY_CHARS}
    names = []
    for candidate in candidates:
        name = clean(html_unescape(candidate)) if isinstance(candidate, str) else None
        if not name or name.startswith("@") or "://" in name or len(name) > MAX_SITE_NAME_CHARS:
            continue
        if any(key in name_key(name) for key in title_keys):
            continue
        names.append(name)
    names_only = [name for name in names if not LEGAL_FORM_RE.search(name)]
    preferred = (name for name in names_only if not is_host_like(name, hosts))
    return next(preferred, (names_only or names or [None])[0])


def is_host_like(value: str, hosts: tuple[str, ...]) -> bool:
    """A host in lower case, "example.com" or "example" (the host being example.com), not a name.

    A capitalised domain ("Golem.de", "FAZ.NET") is how some brands write their name, and stays.
    """
    if not value.islower() or " " in value:
        return False
    labels = {name_key(label) for host in hosts for label in host.split(".")}
    return bool(DOMAIN_RE.fullmatch(value)) or name_key(value) in labels


def name_key(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


def is_site_like(value: str, site_names: list[str], hosts: tuple[str, ...]) -> bool:
    """Whether ``value`` names the site: its declared name, its host, or their initials, loosely."""
    key = name_key(value)
    if len(key) < 2:
        return False
    domains = [host.removeprefix("www.") for host in hosts if host]
    labels = [name_key(label) for domain in domains for label in domain.split(".") if label not in STOP_HOST_LABELS]
    host_keys = {label for label in labels if len(label) >= 2} | {name_key(domain) for domain in domains}
    site_keys = {name_key(name.lstrip("@")) for name in site_names} - {""}
    if key in host_keys or key in site_keys:
        return True
    words = re.findall(r"\w+", value)
    initials = "".join(word[0] for word in words).casefold() if len(words) > 1 else ""
    if initials and initials in host_keys:
        return True
    # Whole leading/trailing words that are the site: "NTV Haber" (site NTV), "Die Neue Südtiroler
    # Tageszeitung" on tageszeitung.it. A short host label ("time") must match exactly: "Time to act" is no site.
    loose_keys = {k for k in site_keys if len(k) >= 2} | {k for k in host_keys if len(k) >= 5}
    if len(words) <= 5:
        for size in range(1, len(words)):
            if name_key(" ".join(words[:size])) in loose_keys or name_key(" ".join(words[-size:])) in loose_keys:
                return True
    return any(domain in value.lower() for domain in domains)
