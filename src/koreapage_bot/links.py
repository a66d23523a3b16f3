"""Links written by third parties (feed entries, feed pages), made safe to store and to show.

A feed may carry any string as an entry's link: spaces, quotes, `javascript:`, a 50 kB blob, an
internationalised host, a `)` that would close a markdown link. `web_link` turns it into one
well-formed absolute http(s) URL that every platform accepts (Discord refuses a whole message
over one malformed embed URL), or None when nothing usable is left; a brief without a usable
link is still shown, only without the link.

Platform-neutral and pure: no SDK, no network.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

URL_MAX = 2048  # Discord's embed URL limit; browsers and Slack take at least this much

# Leading and trailing C0 controls and spaces are dropped, tabs and newlines removed anywhere
# (what browsers do, WHATWG URL standard); any other unsafe character is percent-encoded.
_STRIP = "".join(chr(c) for c in range(0x21)) + "\u00a0\u2000\u2001\u2002\u2003\u200b\ufeff"
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# RFC 3986 characters kept as they are in a path, a query and a fragment (`%` for the escapes
# already there). Everything else — space, `"`, `<`, `>`, `\`, `^`, `` ` ``, `{`, `|`, `}`,
# controls and non-ASCII — is percent-encoded as UTF-8.
_SAFE_PATH = "/:@!$&'()*+,;=-._~%"
_SAFE_QUERY = _SAFE_PATH + "?"
_HOST = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
_IPV6 = re.compile(r"[0-9a-f:.]+")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def web_link(url: str | None, *, limit: int = URL_MAX) -> str | None:
    """`url` as a well-formed absolute http(s) URL of at most `limit` characters, or None.

    Spaces and unsafe characters are percent-encoded (existing `%XX` escapes are kept, a lone
    `%` becomes `%25`), the host is lower-cased and IDNA-encoded, credentials and a default
    port are dropped. Idempotent: a result passes through unchanged.
    """
    if not url:
        return None
    text = _TAB_NEWLINE.sub("", url.strip(_STRIP))
    if not text or len(text) > 4 * limit:  # far too long to come under the limit encoded
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:  # a bad port, an unclosed IPv6 bracket
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return None
    host = _host(parts.hostname or "")
    if host is None:
        return None
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _encode(parts.path, _SAFE_PATH)
    query = _encode(parts.query, _SAFE_QUERY)
    fragment = _encode(parts.fragment, _SAFE_QUERY)
    result = urlunsplit((scheme, netloc, path, query, fragment))
    return result if len(result) <= limit else None


def _host(host: str) -> str | None:
    """The host in ASCII (IDNA), or None when it cannot be a host name or an IP literal."""
    if not host:
        return None
    if ":" in host:  # urlsplit hands IPv6 literals over without their brackets
        return f"[{host}]" if _IPV6.fullmatch(host) else None
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:  # an empty or over-long label, characters IDNA refuses
        return None
    return ascii_host if _HOST.fullmatch(ascii_host) else None


def _encode(part: str, safe: str) -> str:
    return quote(_LONE_PERCENT.sub("%25", part), safe=safe)
