"""Which URL query parameters are tracking, never content: one list for the whole project.

The crawler drops them when it canonicalises a URL (crawler.discovery.urls), and the archive drops
them from links written in an article's text before it decides whether the article changed
(archive.changes). The list lives here, in the lowest layer, because the archive may not import the
crawler. No settings.
"""

from __future__ import annotations

# Query keys (compared lower-cased) that identify a campaign, a click or a visitor, never content.
# `ref` is deliberately absent: a few sites use it for content (e.g. a git ref on code hosts).
TRACKING_PARAMETERS: frozenset[str] = frozenset(
    {
        # ad-click ids
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "twclid",
        "ttclid",
        "yclid",
        "ysclid",
        "li_fat_id",
        "srsltid",
        "igshid",
        "igsh",
        "wickedid",
        "rb_clickid",
        # analytics and newsletters
        "_ga",
        "_gl",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "vero_id",
        "vero_conv",
        "oly_anon_id",
        "oly_enc_id",
        "__twitter_impression",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        # publisher campaign tags
        "cmpid",
        "ref_src",
        "ref_url",
        "xtor",
        "at_medium",
        "at_campaign",
        "ncid",
        "ocid",
        "icid",
        "s_cid",
        "smid",
        "smtyp",
        "soc_src",
        "soc_trk",
        "cndid",
        "sr_share",
        "ito",
        # session ids
        "sid",
        "sessionid",
        "session_id",
        "phpsessid",
        "jsessionid",
        "aspsessionid",
        "cfid",
        "cftoken",
        # WordPress comment and share links that render the same article
        "replytocom",
        "share",
        "like_comment",
    }
)
# Families of tracking keys: Google/Matomo/Piwik campaign tags, HubSpot ads, BBC/comScore.
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "mtm_", "pk_", "hsa_", "ns_")


def is_tracking_parameter(key: str) -> bool:
    """Whether a query key (any case, surrounding spaces ignored) is a tracking parameter."""
    key = key.strip().lower()
    return key in TRACKING_PARAMETERS or key.startswith(TRACKING_PREFIXES)
