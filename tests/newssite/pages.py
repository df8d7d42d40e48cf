"""HTML for every page of the fixture news site, as the CMSs that inspired it would print it.

Three article templates (WordPress with Jetpack widgets, a news portal with JSON-LD and a cookie
banner, a bare minimal page), their AMP versions, and the listing and service pages around them.
Functions take the model and the base URL and return the page as ``str``; encoding to bytes happens
in the app, because some articles are served as windows-1252.
"""

from __future__ import annotations

import calendar
import html
import json
from datetime import datetime

from tests.newssite import model as m
from tests.newssite.model import Article, SiteModel

COOKIE_TEXT = (
    "We and our 143 partners store and/or access information on a device, such as cookies, and "
    "process personal data, such as unique identifiers and standard information sent by a device, "
    "for personalised advertising and content, advertising and content measurement, audience "
    "research and services development. With your permission we and our partners may use precise "
    "geolocation data and identification through device scanning. You may click to consent to our "
    "and our partners’ processing as described above. Alternatively you may access more detailed "
    "information and change your preferences before consenting or to refuse consenting. Please note "
    "that some processing of your personal data may not require your consent, but you have a right "
    "to object to such processing. Your preferences will apply to this website only. You can change "
    "your preferences at any time by returning to this site or visiting our privacy policy."
)
ABOUT_PARAGRAPHS = (
    "The Harbour Gazette was founded in 1887 by a group of merchants who wanted a newspaper that "
    "reported the arrival of ships, the price of grain and the decisions of the town council without "
    "fear or favour. More than a century later, that is still what we try to do every day.",
    "Our newsroom of 38 journalists covers politics, business, technology, science, culture and sport "
    "in the harbour city and the surrounding region. We publish around the clock on this website and "
    "print a weekend edition that is delivered to more than 40,000 households.",
    "The Gazette is owned by an independent foundation. It has no shareholders who expect dividends, "
    "and every euro of profit is reinvested in journalism. Our editorial code, our corrections policy "
    "and the names of the members of the foundation’s board are published on this page.",
    "If you believe we have got something wrong, please tell us. We correct errors promptly and "
    "transparently, and every correction is noted at the end of the article concerned.",
)
AMP_BOILERPLATE = (
    "body{-webkit-animation:-amp-start 8s steps(1,end) 0s 1 normal both;"
    "animation:-amp-start 8s steps(1,end) 0s 1 normal both}"
    "@keyframes -amp-start{from{visibility:hidden}to{visibility:visible}}"
)


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def json_ld(data: object) -> str:
    # "</" inside a script element would end it early; JSON allows escaping the slash.
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def charset_meta(encoding: str) -> str:
    if encoding == "windows-1252":
        return '<meta charset="windows-1252">'
    if encoding == "utf-8-undeclared":
        return ""
    return '<meta charset="utf-8">'


def feed_links() -> str:
    return (
        f'<link rel="alternate" type="application/rss+xml" title="{esc(m.SITE_NAME)} » Feed" href="/feed/rss.xml">\n'
        f'<link rel="alternate" type="application/atom+xml" title="{esc(m.SITE_NAME)} » Atom" href="/feed/atom.xml">'
    )


def long_date(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"


def us_date(moment: datetime) -> str:
    return f"{moment:%B} {moment.day}, {moment.year}"


def calendar_path(year: int, month: int) -> str:
    return f"/calendar/{year:04d}/{month:02d}/"


def calendar_link(site: SiteModel) -> str:
    year, month = site.calendar_month
    return f'<a class="archive-month" href="{calendar_path(year, month)}">{calendar.month_name[month]} {year}</a>'


def main_nav(current: str = "") -> str:
    items = ['<li><a href="/">Home</a></li>']
    for slug, name in (*m.SECTIONS, m.WIRE_SECTION):
        marker = ' aria-current="page"' if slug == current else ""
        items.append(f'<li><a href="/section/{slug}/"{marker}>{name}</a></li>')
    return '<nav class="main-nav" aria-label="Sections"><ul>' + "".join(items) + "</ul></nav>"


def author_links(article: Article) -> str:
    links = [f'<a rel="author" href="/author/{a.slug}/">{esc(a.name)}</a>' for a in article.authors]
    if len(links) == 1:
        return links[0]
    return ", ".join(links[:-1]) + " and " + links[-1]


def teaser(article: Article, href: str, comments_href: str | None = None, with_image: bool = False) -> str:
    image = ""
    if with_image:
        image = (
            f'<a class="teaser__image" href="{esc(href)}"><img src="/img/{article.image_id}.jpg" '
            f'alt="" width="640" height="360" loading="lazy"></a>'
        )
    comments = ""
    if comments_href:
        comments = f' · <a class="teaser__comments" href="{esc(comments_href)}">{len(article.comments)} comments</a>'
    names = ", ".join(esc(a.name) for a in article.authors)
    return (
        f'<article class="teaser">{image}'
        f'<h2 class="teaser__title"><a href="{esc(href)}">{esc(article.title)}</a></h2>'
        f'<p class="teaser__summary">{esc(article.summary)}</p>'
        f'<p class="teaser__meta"><span class="byline">By {names}</span> · '
        f'<time datetime="{article.published.isoformat()}">{long_date(article.published)}</time>{comments}</p>'
        f"</article>"
    )


def most_read_box(site: SiteModel) -> str:
    items = "".join(
        f'<li><a href="{esc(m.most_read_link(a, i))}">{esc(a.title)}</a></li>' for i, a in enumerate(site.most_read)
    )
    return f'<section class="most-read"><h2>Most read</h2><ol>{items}</ol></section>'


def sidebar(site: SiteModel, extra: str = "") -> str:
    return (
        f'<aside class="sidebar">{extra}{most_read_box(site)}'
        f'<section class="archive-widget"><h2>Archive</h2><p>Browse by month: {calendar_link(site)}</p></section>'
        f"</aside>"
    )


def cookie_banner() -> str:
    return (
        '<div id="cookie-consent" class="cookie-banner" role="dialog" aria-label="Cookie consent">'
        f"<h2>We value your privacy</h2><p>{esc(COOKIE_TEXT)}</p>"
        '<button type="button" class="cookie-accept">Accept all</button>'
        '<button type="button" class="cookie-reject">Reject all</button>'
        '<button type="button" class="cookie-settings">Manage preferences</button></div>'
    )


def site_footer() -> str:
    year = m.LATEST_PUBLICATION.year
    return (
        '<footer class="site-footer"><nav aria-label="Service"><ul>'
        '<li><a href="/about/">About us</a></li><li><a href="/contact/">Contact</a></li>'
        '<li><a href="/login/">Log in</a></li><li><a href="/feed/rss.xml">RSS</a></li>'
        '<li><a href="/sitemap_index.xml">Sitemap</a></li></ul></nav>'
        f"<p>© {year} {esc(m.SITE_NAME)}. All rights reserved.</p></footer>"
    )


def portal_page(
    site: SiteModel,
    base: str,
    *,
    title: str,
    path: str,
    description: str,
    main_html: str,
    og_type: str = "website",
    lang: str = "en",
    head_extra: str = "",
    json_ld_data: object = None,
    encoding: str = "utf-8",
    sidebar_extra: str = "",
    body_class: str = "",
    current_section: str = "",
) -> str:
    """The news portal chrome around ``main_html``: head, cookie banner, nav, sidebar, footer."""
    url = base + path
    ld = f'<script type="application/ld+json">{json_ld(json_ld_data)}</script>\n' if json_ld_data else ""
    meta = charset_meta(encoding)
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
{meta}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<meta name="description" content="{esc(description)}">
<link rel="canonical" href="{esc(url)}">
{feed_links()}
<meta property="og:site_name" content="{esc(m.SITE_NAME)}">
<meta property="og:type" content="{og_type}">
<meta property="og:title" content="{esc(title)}">
<meta property="og:url" content="{esc(url)}">
<meta property="og:description" content="{esc(description)}">
{head_extra}{ld}<link rel="stylesheet" href="/static/portal.css">
</head>
<body class="{body_class}">
{cookie_banner()}
<header class="site-header"><a class="logo" href="/">{esc(m.SITE_NAME)}</a>
<p class="tagline">{esc(m.SITE_TAGLINE)}</p>
{main_nav(current_section)}</header>
<div class="layout">
<main id="main">
{main_html}
</main>
{sidebar(site, sidebar_extra)}
</div>
{site_footer()}
<script src="/static/portal.js" defer></script>
</body>
</html>
"""


# --- Listing and service pages --------------------------------------------------------------


def home_page(site: SiteModel, base: str) -> str:
    teasers = []
    for position, article in enumerate(site.listed_newest[: m.HOME_TEASERS]):
        teasers.append(
            teaser(
                article,
                m.home_link(article, position),
                m.home_comments_link(article, position),
                with_image=position < 3,
            )
        )
    live = "".join(f'<li><a href="/live/{slug}/">{esc(title)}</a></li>' for slug, title in m.LIVE_PAGES)
    members = "".join(f'<li><a href="{a.path}">{esc(a.title)}</a></li>' for a in site.private_articles)
    documents = "".join(
        f'<li><a href="/files/report-{n}.pdf">Annual report {n} (PDF)</a></li>' for n in m.REPORT_NUMBERS
    ) + "".join(f'<li><a href="/download/{n}">Reader survey results, part {n}</a></li>' for n in m.DOWNLOAD_NUMBERS)
    extra = (
        f'<section class="live-coverage"><h2>Live</h2><ul>{live}</ul></section>'
        f'<section class="members-only"><h2>For subscribers</h2><ul>{members}</ul></section>'
        f'<section class="documents"><h2>Documents</h2><ul>{documents}</ul></section>'
        f'<section class="from-the-archive"><h2>From the archive</h2><ul>'
        f'<li><a href="{m.REMOVED_ARTICLE_PATH}">Ferry timetable changes for the summer</a></li></ul></section>'
    )
    ld = {
        "@context": "https://schema.org",
        "@type": "WebSite",
        "name": m.SITE_NAME,
        "url": base + "/",
        "description": m.SITE_TAGLINE,
    }
    main_html = (
        '<h1 class="visually-hidden">Latest news</h1>\n<section class="latest">' + "\n".join(teasers) + "</section>"
    )
    return portal_page(
        site,
        base,
        title=f"{m.SITE_NAME} – {m.SITE_TAGLINE}",
        path="/",
        description=m.SITE_TAGLINE,
        main_html=main_html,
        json_ld_data=ld,
        sidebar_extra=extra,
        body_class="home",
    )


def _collection_ld(base: str, path: str, name: str) -> dict[str, object]:
    return {
        "@context": "https://schema.org",
        "@type": "CollectionPage",
        "name": name,
        "url": base + path,
        "isPartOf": {"@type": "WebSite", "name": m.SITE_NAME, "url": base + "/"},
    }


def section_page(site: SiteModel, base: str, section_slug: str, page: int) -> str | None:
    pages = m.section_pages(site, section_slug)
    if not 1 <= page <= len(pages):
        return None
    name = dict(m.SECTIONS)[section_slug]
    path = m.section_page_path(section_slug, page)
    links, nav = [], []
    if page < len(pages):
        older = m.section_page_path(section_slug, page + 1)
        links.append(f'<link rel="next" href="{base}{older}">')
        nav.append(f'<a class="next" href="{older}">Older posts</a>')
    if page > 1:
        newer = m.section_page_path(section_slug, page - 1)
        links.append(f'<link rel="prev" href="{base}{newer}">')
        nav.append(f'<a class="prev" href="{newer}">Newer posts</a>')
    heading = name if page == 1 else f"{name} – page {page} of {len(pages)}"
    main_html = (
        f'<h1 class="section-title">{esc(heading)}</h1>\n<section class="teasers">'
        + "\n".join(teaser(a, a.path) for a in pages[page - 1])
        + f'</section>\n<nav class="pagination">{" ".join(nav)}</nav>'
    )
    return portal_page(
        site,
        base,
        title=f"{heading} | {m.SITE_NAME}",
        path=path,
        description=f"The latest {name.lower()} news from {m.SITE_NAME}.",
        main_html=main_html,
        head_extra="\n".join(links) + "\n",
        json_ld_data=_collection_ld(base, path, name),
        body_class="section",
        current_section=section_slug,
    )


def wire_section_page(site: SiteModel, base: str) -> str:
    path = "/section/wire/"
    teasers = "\n".join(teaser(copy.original, copy.path) for copy in site.wire_copies)
    main_html = (
        '<h1 class="section-title">Wire</h1>\n<p class="section-intro">Stories from our news '
        f'agency partners, published unedited.</p>\n<section class="teasers">{teasers}</section>'
    )
    return portal_page(
        site,
        base,
        title=f"Wire | {m.SITE_NAME}",
        path=path,
        description="Agency copy from our wire partners.",
        main_html=main_html,
        json_ld_data=_collection_ld(base, path, "Wire"),
        body_class="section",
        current_section="wire",
    )


def tag_page(site: SiteModel, base: str, tag_slug: str) -> str | None:
    tag = next((t for t in site.tags if t.slug == tag_slug), None)
    if tag is None:
        return None
    path = f"/tag/{tag.slug}/"
    articles = m.tag_articles(site, tag.slug)
    body = "\n".join(teaser(a, a.path) for a in articles) or "<p>Nothing has been tagged with this yet.</p>"
    main_html = f'<h1 class="archive-title">Tag: {esc(tag.name)}</h1>\n<section class="teasers">{body}</section>'
    return portal_page(
        site,
        base,
        title=f"{tag.name} | {m.SITE_NAME}",
        path=path,
        description=f"Articles tagged “{tag.name}”.",
        main_html=main_html,
        json_ld_data=_collection_ld(base, path, tag.name),
        body_class="tag",
    )


def author_page(site: SiteModel, base: str, author_slug: str) -> str | None:
    author = next((a for a in site.authors if a.slug == author_slug), None)
    if author is None:
        return None
    path = f"/author/{author.slug}/"
    teasers = "\n".join(teaser(a, a.path) for a in m.author_articles(site, author.slug))
    main_html = (
        f'<div class="author-card"><img src="/img/{900 + site.authors.index(author)}.jpg" alt="" width="120" height="120">'
        f'<h1 class="author-name">{esc(author.name)}</h1><p class="author-bio">{esc(author.bio)}</p></div>\n'
        f'<h2>Latest articles by {esc(author.name)}</h2>\n<section class="teasers">{teasers}</section>'
    )
    ld = {
        "@context": "https://schema.org",
        "@type": "ProfilePage",
        "mainEntity": {"@type": "Person", "name": author.name, "url": base + path},
    }
    return portal_page(
        site,
        base,
        title=f"{author.name} | {m.SITE_NAME}",
        path=path,
        description=f"Articles by {author.name}.",
        og_type="profile",
        main_html=main_html,
        json_ld_data=ld,
        body_class="author",
    )


def about_page(site: SiteModel, base: str) -> str:
    reports = "".join(f'<li><a href="/files/report-{n}.pdf">Annual report {n}</a></li>' for n in m.REPORT_NUMBERS)
    main_html = (
        "<h1>About us</h1>\n"
        + "\n".join(f"<p>{esc(p)}</p>" for p in ABOUT_PARAGRAPHS)
        + f"\n<h2>Transparency</h2><ul>{reports}</ul>"
        + '<h2>Press</h2><p>Journalists can find logos and photos in our <a href="/loop/a">press kit</a>.</p>'
    )
    return portal_page(
        site,
        base,
        title=f"About us | {m.SITE_NAME}",
        path="/about/",
        description=f"Who we are: {m.SITE_NAME}, independent since 1887.",
        main_html=main_html,
        json_ld_data={"@context": "https://schema.org", "@type": "AboutPage", "name": "About us"},
        body_class="page",
    )


def contact_page(site: SiteModel, base: str) -> str:
    main_html = (
        "<h1>Contact</h1><p>Newsroom: 14 Quay Street, 20457 Harbour City. Phone +49 40 555 0100.</p>"
        "<p>Send tips and corrections to newsroom@harbour-gazette.example.</p>"
        '<form class="contact-form" action="/contact/" method="post">'
        '<label>Your name <input name="name" required></label>'
        '<label>Email <input type="email" name="email" required></label>'
        '<label>Message <textarea name="message" rows="6"></textarea></label>'
        '<button type="submit">Send message</button></form>'
    )
    return portal_page(
        site,
        base,
        title=f"Contact | {m.SITE_NAME}",
        path="/contact/",
        description="How to reach the newsroom.",
        main_html=main_html,
        body_class="page",
    )


def login_page(site: SiteModel, base: str) -> str:
    main_html = (
        "<h1>Log in</h1>"
        '<form class="login-form" action="/login/" method="post">'
        '<label for="user_login">Email or username</label><input id="user_login" name="log" autocomplete="username">'
        '<label for="user_pass">Password</label><input id="user_pass" type="password" name="pwd">'
        '<label><input type="checkbox" name="rememberme" value="forever"> Remember me</label>'
        '<button type="submit">Log in</button></form>'
        "<p>Not a subscriber yet? Subscriptions start at €7.99 a month.</p>"
    )
    return portal_page(
        site,
        base,
        title=f"Log in | {m.SITE_NAME}",
        path="/login/",
        description="Subscriber login.",
        main_html=main_html,
        body_class="login",
    )


def calendar_page(site: SiteModel, base: str, year: int, month: int) -> str:
    path = calendar_path(year, month)
    weeks = calendar.Calendar(firstweekday=0).monthdayscalendar(year, month)
    rows = "".join("<tr>" + "".join(f"<td>{d or ''}</td>" for d in week) + "</tr>" for week in weeks)
    head = "".join(f"<th>{name}</th>" for name in calendar.day_abbr)
    links = []
    if (year, month) > (1, 1):
        prev_year, prev_month = (year, month - 1) if month > 1 else (year - 1, 12)
        links.append(
            f'<a class="prev" href="{calendar_path(prev_year, prev_month)}">« {calendar.month_name[prev_month]}</a>'
        )
    if (year, month) < (9999, 12):
        next_year, next_month = (year, month + 1) if month < 12 else (year + 1, 1)
        links.append(
            f'<a class="next" href="{calendar_path(next_year, next_month)}">{calendar.month_name[next_month]} »</a>'
        )
    label = f"{calendar.month_name[month]} {year}"
    main_html = (
        f'<h1>Events: {label}</h1><table class="calendar"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table><p>No events are listed for {label}.</p>"
        f'<nav class="calendar-nav">{" ".join(links)}</nav>'
    )
    return portal_page(
        site,
        base,
        title=f"Events {label} | {m.SITE_NAME}",
        path=path,
        description=f"Events calendar for {label}.",
        main_html=main_html,
        body_class="calendar",
    )


def live_page(site: SiteModel, base: str, slug: str) -> str | None:
    title = dict(m.LIVE_PAGES).get(slug)
    if title is None:
        return None
    state = json_ld({"slug": slug, "endpoint": f"/api/live/{slug}.json", "poll": 15})
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} | {esc(m.SITE_NAME)}</title>
<link rel="canonical" href="{base}/live/{slug}/">
{feed_links()}
<meta property="og:type" content="website">
<link rel="stylesheet" href="/static/live.css">
</head>
<body>
<header><a href="/">{esc(m.SITE_NAME)}</a> {main_nav()}</header>
<div id="app"></div>
<p class="spinner">Loading…</p>
<script>window.__LIVE_STATE__ = {state};</script>
<script src="/static/live-app.js"></script>
<footer>{calendar_link(site)}</footer>
</body>
</html>
"""


def not_found_page(site: SiteModel, base: str, path: str) -> str:
    main_html = (
        "<h1>Page not found</h1><p>Sorry, the page you were looking for does not exist or has been "
        'moved. Try the <a href="/">home page</a> or browse the sections above.</p>'
    )
    return portal_page(
        site,
        base,
        title=f"Page not found | {m.SITE_NAME}",
        path=path,
        description="Page not found.",
        main_html=main_html,
        body_class="error404",
    )


# --- Articles -------------------------------------------------------------------------------

JS_NOSCRIPT_TEXT = "Please enable JavaScript to read this article."
JS_LOADING_TEXT = "Loading…"


def javascript_body(paragraphs: list[str]) -> str:
    """The article body as a JavaScript-only site serves it: none of it in the HTML, an empty container
    that an inline script fills from a ``<script type="application/json">`` block (the "json" kind of
    ``tests/jssite.py``). The templates pass the whole body region, their in-body template line as its
    last paragraph, as a single-page app renders it all in the browser. The JSON is ASCII (``\\u`` escapes, "<" too, so no "</script>" or "<!--"
    can end the block early), so it also survives a windows-1252 page."""
    data = json.dumps({"paragraphs": paragraphs}).replace("<", "\\u003c")
    return f"""<noscript>{JS_NOSCRIPT_TEXT}</noscript>
<p class="loading" id="article-loading">{JS_LOADING_TEXT}</p>
<div id="article-app" class="article-app"></div>
<script type="application/json" id="article-data">{data}</script>
<script>
(function () {{
  var data = JSON.parse(document.getElementById("article-data").textContent);
  document.getElementById("article-app").innerHTML = data.paragraphs.map(function (text) {{
    var p = document.createElement("p");
    p.textContent = text;
    return p.outerHTML;
  }}).join("");
  document.getElementById("article-loading").remove();
}})();
</script>"""


def _body_paragraph(text: str, link: str | None = None) -> str:
    """One body paragraph; with ``link``, words 2-5 become a link (the text itself is unchanged)."""
    words = text.split(" ")
    if link is None or len(words) < 8:
        return f"<p>{esc(text)}</p>"
    before, linked, after = " ".join(words[:1]), " ".join(words[1:5]), " ".join(words[5:])
    return f'<p>{esc(before)} <a href="{esc(link)}">{esc(linked)}</a> {esc(after)}</p>'


def _news_article_ld(article: Article, base: str, url: str) -> dict[str, object]:
    data: dict[str, object] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "headline": article.title,
        "description": article.summary,
        "image": [f"{base}/img/{article.image_id}.jpg"],
        "datePublished": article.published.isoformat(),
    }
    if article.modified:
        data["dateModified"] = article.modified.isoformat()
    data.update(
        {
            "author": [{"@type": "Person", "name": a.name, "url": f"{base}/author/{a.slug}/"} for a in article.authors],
            "publisher": {
                "@type": "Organization",
                "name": m.SITE_NAME,
                "logo": {"@type": "ImageObject", "url": f"{base}/img/0.jpg"},
            },
            "inLanguage": article.language,
            "articleSection": article.section[1],
            "keywords": [t.name for t in article.tags],
        }
    )
    return data


def _article_meta(article: Article) -> str:
    tags = "".join(f'<meta property="article:tag" content="{esc(t.name)}">\n' for t in article.tags)
    modified = (
        f'<meta property="article:modified_time" content="{article.modified.isoformat()}">\n'
        if article.modified
        else ""
    )
    return (
        f'<meta property="article:published_time" content="{article.published.isoformat()}">\n'
        f'{modified}<meta property="article:section" content="{esc(article.section[1])}">\n{tags}'
    )


def portal_article(
    site: SiteModel, base: str, article: Article, paragraphs: list[str], presented_path: str | None = None
) -> str:
    """The portal template; ``presented_path`` shows the article under another URL (wire copies)."""
    path = presented_path or article.path
    url = base + path
    related = m.related_articles(site, article)
    in_text_link = m.related_link(related[0]) if related else None
    body = []
    for index, text in enumerate([] if article.js_only else paragraphs):
        body.append(_body_paragraph(text, in_text_link if index == 1 else None))
        if index == 2:
            body.append(
                '<aside class="newsletter-signup"><h3>The Morning Briefing</h3>'
                "<p>Our editors’ pick of the day’s most important stories, every weekday at 6am.</p>"
                '<form action="/newsletter/subscribe" method="post"><input type="email" name="email" '
                'placeholder="Your email address"><button type="submit">Sign up</button></form>'
                "<small>You can unsubscribe at any time.</small></aside>"
            )
    support = m.TEMPLATE_LINES["portal"]
    if article.js_only:
        portal_body = javascript_body([*paragraphs, support])
    else:
        portal_body = "\n".join(body) + f'\n<p class="support">{esc(support)}</p>'
    modified = ""
    if article.modified:
        modified = (
            f' · Updated <time class="modified" datetime="{article.modified.isoformat()}">'
            f"{long_date(article.modified)}, {article.modified:%H:%M}</time>"
        )
    crumb_slug, crumb_name = m.WIRE_SECTION if presented_path else article.section
    syndication_note = (
        f'\n<p><em>{m.SYNDICATION_NOTE} <a href="{base}{article.path}">{esc(m.SITE_NAME)}</a>.</em></p>'
        if presented_path
        else ""
    )
    related_items = "".join(f'<li><a href="{esc(m.related_link(r))}">{esc(r.title)}</a></li>' for r in related)
    tags = ", ".join(f'<a href="/tag/{t.slug}/" rel="tag">{esc(t.name)}</a>' for t in article.tags)
    main_html = f"""<nav class="breadcrumb" aria-label="Breadcrumb"><ol><li><a href="/">Home</a></li><li><a href="/section/{crumb_slug}/">{esc(crumb_name)}</a></li><li aria-current="page">{esc(article.title)}</li></ol></nav>
<article class="news-article">
<header class="article-header">
<p class="kicker">{esc(article.section[1])}</p>
<h1 class="headline">{esc(article.title)}</h1>
<p class="byline">By {author_links(article)}</p>
<p class="dateline"><time class="published" datetime="{article.published.isoformat()}">{long_date(article.published)}, {article.published:%H:%M}</time>{modified}</p>
</header>
<figure class="lead-image"><img src="/img/{article.image_id}.jpg" alt="" width="1200" height="675"><figcaption>Photo: {esc(m.SITE_NAME)} archive</figcaption></figure>
<div class="article-body">
{portal_body}{syndication_note}
</div>
<footer class="article-tags">Topics: {tags}</footer>
</article>
<section class="related-articles"><h2>Related articles</h2><ul>{related_items}</ul></section>"""
    amp = f'<link rel="amphtml" href="{base}{article.amp_path}">\n' if article.amp_path and not presented_path else ""
    authors = ", ".join(a.name for a in article.authors)
    head_extra = (
        f'<meta name="author" content="{esc(authors)}">\n{amp}{_article_meta(article)}'
        + f'<meta property="og:image" content="{base}/img/{article.image_id}.jpg">\n'
    )
    return portal_page(
        site,
        base,
        title=f"{article.title} | {m.SITE_NAME}",
        path=path,
        description=article.summary,
        main_html=main_html,
        og_type="article",
        lang=article.language,
        head_extra=head_extra,
        json_ld_data=_news_article_ld(article, base, url),
        encoding=article.encoding if not presented_path else "utf-8",
        body_class="article",
        current_section=crumb_slug,
    )


def _comment_form(url: str) -> str:
    return f"""<div id="respond" class="comment-respond">
<h3 id="reply-title" class="comment-reply-title">Leave a Reply <small><a rel="nofollow" id="cancel-comment-reply-link" href="#respond" style="display:none;">Cancel reply</a></small></h3>
<form action="/wp-comments-post.php" method="post" id="commentform" class="comment-form">
<input type="hidden" id="highlander_comment_nonce" name="highlander_comment_nonce" value="4f1c2d9a0b">
<div class="comment-form-field comment-textarea"><label for="comment">Enter your comment here...</label><div id="comment-form-comment"><textarea id="comment" name="comment" title="Enter your comment here..."></textarea></div></div>
<div id="comment-form-identity">
<div id="comment-form-nascar"><p>Fill in your details below or click an icon to log in:</p>
<ul><li class="selected" style="display:none;"><a href="#comment-form-guest" id="postas-guest" class="comment-form-avatar-link">Guest</a></li>
<li><a href="#comment-form-load-service:WordPress.com" id="postas-wordpress" class="comment-form-avatar-link">WordPress.com</a></li>
<li><a href="#comment-form-load-service:Twitter" id="postas-twitter" class="comment-form-avatar-link">Twitter</a></li>
<li><a href="#comment-form-load-service:Facebook" id="postas-facebook" class="comment-form-avatar-link">Facebook</a></li></ul></div>
<div id="comment-form-guest" class="comment-form-service selected"><div class="comment-form-padder"><div class="comment-form-fields">
<div class="comment-form-field comment-form-email"><label for="email">Email <span class="required">(required)</span> <span class="nopublish">(Address never made public)</span></label><div class="comment-form-input"><input id="email" name="email" type="email" value=""></div></div>
<div class="comment-form-field comment-form-author"><label for="author">Name <span class="required">(required)</span></label><div class="comment-form-input"><input id="author" name="author" type="text" value=""></div></div>
<div class="comment-form-field comment-form-url"><label for="url">Website</label><div class="comment-form-input"><input id="url" name="url" type="url" value=""></div></div>
</div></div></div>
<div id="comment-form-wordpress" class="comment-form-service"><div class="comment-form-padder"><div class="comment-form-fields">
<p class="comment-form-posting-as pa-wordpress"><strong></strong> You are commenting using your WordPress.com account. <span class="comment-form-log-out">( <a href="javascript:HighlanderComments.doExternalLogout( 'wordpress' );">Log Out</a> / <a href="#" onclick="javascript:HighlanderComments.switchAccount();return false;">Change</a> )</span></p>
</div></div></div>
<div id="comment-form-twitter" class="comment-form-service"><div class="comment-form-padder"><div class="comment-form-fields">
<p class="comment-form-posting-as pa-twitter"><strong></strong> You are commenting using your Twitter account. <span class="comment-form-log-out">( <a href="javascript:HighlanderComments.doExternalLogout( 'twitter' );">Log Out</a> / <a href="#" onclick="javascript:HighlanderComments.switchAccount();return false;">Change</a> )</span></p>
</div></div></div>
<div id="comment-form-facebook" class="comment-form-service"><div class="comment-form-padder"><div class="comment-form-fields">
<p class="comment-form-posting-as pa-facebook"><strong></strong> You are commenting using your Facebook account. <span class="comment-form-log-out">( <a href="javascript:HighlanderComments.doExternalLogout( 'facebook' );">Log Out</a> / <a href="#" onclick="javascript:HighlanderComments.switchAccount();return false;">Change</a> )</span></p>
</div></div></div>
<div id="comment-form-load-service" class="comment-form-service"><div class="comment-form-posting-as-cancel"><a href="javascript:HighlanderComments.cancelExternalWindow();">Cancel</a></div><p>Connecting to %s</p></div>
</div>
<div id="comment-form-subscribe"><p class="comment-subscription-form"><input type="checkbox" name="subscribe" id="subscribe" value="subscribe"> <label class="subscribe-label" id="subscribe-label" for="subscribe">Notify me of new comments via email.</label></p></div>
<p class="form-submit"><input name="submit" type="submit" id="comment-submit" class="submit" value="Post Comment"><input type="hidden" name="comment_post_URL" value="{esc(url)}"></p>
</form>
</div>"""


def wordpress_article(site: SiteModel, base: str, article: Article, paragraphs: list[str]) -> str:
    url = base + article.path
    pid = article.article_id
    share = (
        '<div class="sharedaddy sd-sharing-enabled"><div class="robots-nocontent sd-block sd-social sd-social-icon-text sd-sharing">'
        '<h3 class="sd-title">Share this:</h3><div class="sd-content"><ul>'
        f'<li class="share-twitter"><a rel="nofollow noopener noreferrer" class="share-twitter sd-button share-icon" href="{esc(url)}?share=twitter" target="_blank" title="Click to share on Twitter"><span>Twitter</span></a></li>'
        f'<li class="share-facebook"><a rel="nofollow noopener noreferrer" class="share-facebook sd-button share-icon" href="{esc(url)}?share=facebook" target="_blank" title="Click to share on Facebook"><span>Facebook</span></a></li>'
        '<li class="share-end"></li></ul></div></div></div>'
    )
    likes = (
        f"<div class='sharedaddy sd-block sd-like jetpack-likes-widget-wrapper jetpack-likes-widget-unloaded' id='like-post-wrapper-{pid}' data-name='like-post-frame-{pid}'>"
        "<h3 class=\"sd-title\">Like this:</h3><div class='likes-widget-placeholder post-likes-widget-placeholder' style='height: 55px;'>"
        "<span class='button'><span>Like</span></span> <span class=\"loading\">Loading...</span></div>"
        "<span class='sd-text-color'></span><a class='sd-link-color'></a></div>"
    )
    related = m.related_articles(site, article)
    related_items = "".join(
        f'<div class="jp-relatedposts-post jp-relatedposts-post{i}" data-post-id="{r.article_id}" data-post-format="false">'
        f'<h4 class="jp-relatedposts-post-title"><a class="jp-relatedposts-post-a" href="{esc(base + m.related_link(r))}" '
        f'title="{esc(r.title)}" rel="nofollow" data-origin="{pid}" data-position="{i}">{esc(r.title)}</a></h4>'
        f'<p class="jp-relatedposts-post-date">{us_date(r.published)}</p>'
        f'<p class="jp-relatedposts-post-context">In &quot;{esc(r.section[1])}&quot;</p></div>'
        for i, r in enumerate(related)
    )
    related_block = (
        f"<div id='jp-relatedposts' class='jp-relatedposts'><h3 class=\"jp-relatedposts-headline\">"
        f'<em>Related</em></h3><div class="jp-relatedposts-items jp-relatedposts-items-visual">{related_items}</div></div>'
    )
    tip = m.TEMPLATE_LINES["wordpress"]
    if article.js_only:
        body = javascript_body([*paragraphs, tip])
    else:
        body = "\n".join(f"<p>{esc(p)}</p>" for p in paragraphs) + f"\n<p><em>{esc(tip)}</em></p>"
    updated = article.modified or article.published
    tag_classes = " ".join(f"tag-{t.slug}" for t in article.tags)
    tags = ", ".join(f'<a href="/tag/{t.slug}/" rel="tag">{esc(t.name)}</a>' for t in article.tags)
    writer = article.authors[0]
    comments = "\n".join(
        f'<li id="comment-{c.comment_id}" class="comment {"even" if k % 2 == 0 else "odd"} thread-{"even" if k % 2 == 0 else "odd"} depth-1">'
        f'<article id="div-comment-{c.comment_id}" class="comment-body"><footer class="comment-meta">'
        f'<div class="comment-author vcard"><img alt="" src="/img/{800 + k}.jpg" class="avatar avatar-50" height="50" width="50">'
        f'<b class="fn">{esc(c.author_name)}</b> <span class="says">says:</span></div>'
        f'<div class="comment-metadata"><a href="{esc(url)}#comment-{c.comment_id}"><time datetime="{c.posted.isoformat()}">'
        f"{us_date(c.posted)} at {c.posted:%I:%M %p}</time></a></div></footer>"
        f'<div class="comment-content"><p>{esc(c.text)}</p></div>'
        f'<div class="reply"><a rel="nofollow" class="comment-reply-link" href="{esc(url)}?replytocom={c.comment_id}#respond" '
        f'data-commentid="{c.comment_id}" data-postid="{pid}" aria-label="Reply to {esc(c.author_name)}">Reply</a></div>'
        f"</article></li>"
        for k, c in enumerate(article.comments)
    )
    previous, following = m.neighbours(site, article)
    post_nav = '<nav class="navigation post-navigation" aria-label="Posts"><h2 class="screen-reader-text">Post navigation</h2><div class="nav-links">'
    if previous:
        post_nav += f'<div class="nav-previous"><a href="{base}{previous.path}" rel="prev"><span class="meta-nav">Previous</span> {esc(previous.title)}</a></div>'
    if following:
        post_nav += f'<div class="nav-next"><a href="{base}{following.path}" rel="next"><span class="meta-nav">Next</span> {esc(following.title)}</a></div>'
    post_nav += "</div></nav>"
    recent = "".join(f'<li><a href="{base}{a.path}">{esc(a.title)}</a></li>' for a in site.listed_newest[:5])
    nav_items = "".join(
        f'<li class="menu-item"><a href="/section/{s}/">{n}</a></li>' for s, n in (*m.SECTIONS, m.WIRE_SECTION)
    )
    amp = f'<link rel="amphtml" href="{base}{article.amp_path}">\n' if article.amp_path else ""
    title_words = esc(article.title)
    return f"""<!DOCTYPE html>
<html lang="{article.language}">
<head>
{charset_meta(article.encoding)}
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="profile" href="https://gmpg.org/xfn/11">
<title>{title_words} – {esc(m.SITE_NAME)}</title>
<meta name="description" content="{esc(article.summary)}">
<link rel="canonical" href="{esc(url)}">
<link rel="shortlink" href="{base}/?p={pid}">
{amp}{feed_links()}
<meta property="og:type" content="article">
<meta property="og:title" content="{title_words}">
<meta property="og:url" content="{esc(url)}">
<meta property="og:description" content="{esc(article.summary)}">
<meta property="og:site_name" content="{esc(m.SITE_NAME)}">
<meta property="og:image" content="{base}/img/{article.image_id}.jpg">
{_article_meta(article)}<meta name="generator" content="WordPress.com">
<link rel="stylesheet" id="twentyseventeen-style-css" href="/wp-content/themes/harbour/style.css?ver=6.4.2" media="all">
</head>
<body class="post-template-default single single-post postid-{pid} single-format-standard">
<div id="page" class="site">
<a class="skip-link screen-reader-text" href="#content">Skip to content</a>
<header id="masthead" class="site-header"><div class="site-branding"><p class="site-title"><a href="{base}/" rel="home">{esc(m.SITE_NAME)}</a></p><p class="site-description">{esc(m.SITE_TAGLINE)}</p></div>
<nav id="site-navigation" class="main-navigation"><button class="menu-toggle" aria-controls="primary-menu" aria-expanded="false">Menu</button><ul id="primary-menu" class="menu"><li class="menu-item"><a href="{base}/">Home</a></li>{nav_items}</ul></nav></header>
<div id="content" class="site-content">
<div id="primary" class="content-area"><main id="main" class="site-main">
<article id="post-{pid}" class="post-{pid} post type-post status-publish format-standard hentry category-{article.section[0]} {tag_classes}">
<header class="entry-header"><h1 class="entry-title">{title_words}</h1>
<div class="entry-meta"><span class="posted-on">Posted on <a href="{esc(url)}" rel="bookmark"><time class="entry-date published" datetime="{article.published.isoformat()}">{us_date(article.published)}</time><time class="updated" datetime="{updated.isoformat()}">{us_date(updated)}</time></a></span><span class="byline"> by <span class="author vcard"><a class="url fn n" href="{base}/author/{writer.slug}/">{esc(writer.name)}</a></span></span></div>
</header>
<div class="entry-content">
{body}
<div id="jp-post-flair" class="sharedaddy sd-like-enabled sd-sharing-enabled">{share}{likes}{related_block}</div>
</div>
<footer class="entry-footer"><span class="cat-links">Posted in <a href="{base}/section/{article.section[0]}/" rel="category tag">{esc(article.section[1])}</a></span> <span class="tags-links">Tagged {tags}</span> <span class="shortlink">Short link: <a href="{base}/?p={pid}">{base}/?p={pid}</a></span> <span class="comments-link"><a href="{esc(url)}#comments">{len(article.comments)} Comments</a></span></footer>
</article>
{post_nav}
<div id="comments" class="comments-area">
<h2 class="comments-title">{len(article.comments)} thoughts on “{title_words}”</h2>
<ol class="comment-list">
{comments}
</ol>
{_comment_form(url)}
</div>
</main></div>
<aside id="secondary" class="widget-area">
<section class="widget widget_recent_entries"><h2 class="widget-title">Recent Posts</h2><ul>{recent}</ul></section>
<section class="widget widget_top-posts">{most_read_box(site)}</section>
<section class="widget widget_archive"><h2 class="widget-title">Archives</h2><ul><li>{calendar_link(site)}</li></ul></section>
</aside>
</div>
<footer id="colophon" class="site-footer"><div class="site-info"><a href="/about/">About</a> · <a href="/contact/">Contact</a> · <a href="/login/">Log in</a> · Proudly powered by WordPress</div></footer>
</div>
<script src="/wp-content/plugins/jetpack/_inc/build/likes/queuehandler.min.js?ver=13.1" id="jetpack_likes_queuehandler-js"></script>
</body>
</html>
"""


def minimal_article(site: SiteModel, base: str, article: Article, paragraphs: list[str]) -> str:
    rights = m.TEMPLATE_LINES["minimal"].format(year=article.published.year)
    if article.js_only:
        body = javascript_body([*paragraphs, rights])
    else:
        body = "\n".join(f"<p>{esc(p)}</p>" for p in paragraphs) + f"\n<p>{esc(rights)}</p>"
    sections = " | ".join(f'<a href="/section/{s}/">{n}</a>' for s, n in m.SECTIONS)
    return f"""<!DOCTYPE html>
<html lang="{article.language}">
<head>
{charset_meta(article.encoding)}
<title>{esc(article.title)}</title>
<link rel="canonical" href="{base}{article.path}">
{feed_links()}
</head>
<body>
<p class="nav"><a href="/">{esc(m.SITE_NAME)}</a> | {sections}</p>
<h1>{esc(article.title)}</h1>
<p class="byline">By {esc(article.authors[0].name)}</p>
<p><time datetime="{article.published.isoformat()}">{article.published:%Y-%m-%d %H:%M}</time></p>
{body}
<hr>
<p class="archive">Archive: {calendar_link(site)}</p>
</body>
</html>
"""


def amp_article(site: SiteModel, base: str, article: Article, paragraphs: list[str]) -> str:
    body = "\n".join(f"<p>{esc(p)}</p>" for p in paragraphs)
    names = ", ".join(esc(a.name) for a in article.authors)
    return f"""<!doctype html>
<html amp lang="{article.language}">
<head>
<meta charset="utf-8">
<script async src="https://cdn.ampproject.org/v0.js"></script>
<title>{esc(article.title)} | {esc(m.SITE_NAME)}</title>
<link rel="canonical" href="{base}{article.path}">
{feed_links()}
<meta name="viewport" content="width=device-width">
<meta property="og:type" content="article">
<script type="application/ld+json">{json_ld(_news_article_ld(article, base, base + article.path))}</script>
<style amp-boilerplate>{AMP_BOILERPLATE}</style><noscript><style amp-boilerplate>body{{-webkit-animation:none;animation:none}}</style></noscript>
<style amp-custom>body{{font-family:Georgia,serif;margin:0 auto;max-width:40rem}}</style>
</head>
<body>
<header class="amp-header"><a href="{base}/">{esc(m.SITE_NAME)}</a> · <a href="{base}/section/{article.section[0]}/">{esc(article.section[1])}</a></header>
<article class="amp-article">
<h1>{esc(article.title)}</h1>
<p class="byline">By {names}</p>
<p><time datetime="{article.published.isoformat()}">{long_date(article.published)}</time></p>
<amp-img src="{base}/img/{article.image_id}.jpg" width="1200" height="675" layout="responsive" alt=""></amp-img>
{body}
</article>
<footer class="amp-footer"><a href="{base}/">Home</a> · {calendar_link(site)}</footer>
</body>
</html>
"""


def article_page(site: SiteModel, base: str, article: Article, paragraphs: list[str]) -> str:
    renderers = {"wordpress": wordpress_article, "portal": portal_article, "minimal": minimal_article}
    return renderers[article.template](site, base, article, paragraphs)
