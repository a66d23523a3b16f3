"""Validate untrusted feed URLs before we connect to them (SSRF guard).

Feed URLs come from chat users, so a URL must not make the bot reach into its own host or
network: only http(s), no credentials, and every address the name resolves to must be public.
The fetcher calls `check_url` on every redirect hop and also connects through
`GuardedResolver`, so a name that resolves differently between check and connect
(DNS rebinding) is still refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance-metadata endpoints: refused even when private addresses are allowed, since
# no feed lives there and a leak would hand out the host's credentials.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("169.254.170.2"),
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("100.100.100.200"),
    }
)

ALLOWED_SCHEMES = frozenset({"http", "https"})


class UnsafeUrl(ValueError):
    """The URL may not be fetched; `reason` says why in a few words."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"refused {url!r}: {reason}")
        self.url = url
        self.reason = reason


def parse_url(url: str | URL) -> URL:
    """Check the URL's shape (scheme, host, credentials) without touching the network."""
    text = str(url)
    try:
        parsed = url if isinstance(url, URL) else URL(url.strip())
    except (ValueError, TypeError) as exc:
        raise UnsafeUrl(text, f"not a valid URL ({exc})") from None
    scheme = (parsed.scheme or "").lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = scheme or "none"
        raise UnsafeUrl(text, f"scheme {shown!r} is not allowed (only http and https)")
    if parsed.user is not None or parsed.password is not None:
        raise UnsafeUrl(text, "credentials in the URL are not allowed")
    if not parsed.host:
        raise UnsafeUrl(text, "the URL has no host")
    try:
        _ = parsed.port
    except ValueError:
        raise UnsafeUrl(text, "the port is not valid") from None
    return parsed


def address_problem(address: IPAddress | str, *, allow_private: bool = False) -> str | None:
    """Why connecting to `address` is refused, or None when it is fine."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:127.0.0.1 reaches 127.0.0.1
            return address_problem(ip.ipv4_mapped, allow_private=allow_private)
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
    if ip in METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata address"
    if allow_private:
        return None
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
    )
    for hit, label in checks:
        if hit:
            return f"{ip} is a {label} address"
    if not ip.is_global:  # e.g. 100.64.0.0/10 shared address space
        return f"{ip} is not a public address"
    return None


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_addresses(url: str, addresses: Iterable[str], *, allow_private: bool) -> None:
    """Raise UnsafeUrl if any resolved address is refused (all must pass, not just one)."""
    seen = False
    for address in addresses:
        seen = True
        problem = address_problem(address, allow_private=allow_private)
        if problem is not None:
            raise UnsafeUrl(url, problem)
    if not seen:
        raise UnsafeUrl(url, "the host name does not resolve")


async def check_url(url: str | URL, *, allow_private: bool = False) -> URL:
    """Validate `url` and the addresses its host resolves to; return it parsed.

    Raises UnsafeUrl with a reason. A name that does not resolve is refused too, with the
    resolver's message, so the caller can show one clear error.
    """
    parsed = parse_url(url)
    host = parsed.host or ""
    text = str(url)
    literal = _literal_ip(host)
    if literal is not None:
        check_addresses(text, [str(literal)], allow_private=allow_private)
        return parsed
    if allow_private and not _could_be_metadata_name(host):
        return parsed  # nothing to refuse but metadata literals; skip the lookup
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, parsed.port or 0, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(text, f"cannot resolve {host!r} ({exc})") from None
    check_addresses(text, (str(info[4][0]) for info in infos), allow_private=allow_private)
    return parsed


def _could_be_metadata_name(host: str) -> bool:
    # Names some clouds publish for the metadata service.
    return host.lower().rstrip(".") in {"metadata.google.internal", "metadata"}


def host_key(host: str) -> str:
    """A host name as allow-lists compare it: lower case, no trailing dot, no IPv6 brackets."""
    return host.strip().lower().rstrip(".").strip("[]")


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that drops refused addresses at connect time (DNS rebinding).
    `private_hosts` may reach private addresses although the rest may not."""

    def __init__(
        self,
        *,
        allow_private: bool,
        inner: AbstractResolver | None = None,
        private_hosts: frozenset[str] = frozenset(),
    ) -> None:
        self._allow_private = allow_private
        self._private_hosts = frozenset(host_key(h) for h in private_hosts)
        self._inner: AbstractResolver = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allow = self._allow_private or host_key(host) in self._private_hosts
        kept = [r for r in results if address_problem(r["host"], allow_private=allow) is None]
        if not kept:
            raise OSError(f"refused to connect to {host}: no public address")
        return kept

    async def close(self) -> None:
        await self._inner.close()
