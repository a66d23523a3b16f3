from __future__ import annotations

import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from koreapage_bot.ingest.urlguard import (
    GuardedResolver,
    UnsafeUrl,
    address_problem,
    check_url,
    parse_url,
)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/feed", "loopback"),
        ("http://127.8.9.10:8080/feed", "loopback"),
        ("http://[::1]/feed", "loopback"),
        ("http://10.1.2.3/feed", "private"),
        ("http://192.168.0.10/rss", "private"),
        ("http://172.16.5.4/rss", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://169.254.10.10/", "link-local"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://100.64.0.1/", "not a public"),
    ],
)
async def test_refuses_non_public_addresses(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrl) as info:
        await check_url(url)
    assert reason in info.value.reason


async def test_localhost_name_resolves_to_loopback_and_is_refused() -> None:
    with pytest.raises(UnsafeUrl, match="loopback"):
        await check_url("http://localhost:8080/feed.xml")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://feeds.example/feed.xml", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("javascript:alert(1)", "scheme"),
        ("http://user:pw@feeds.example/feed", "credentials"),
        ("https://token@feeds.example/feed", "credentials"),
        ("http:///nohost", "no host"),
        ("feeds.example/feed.xml", "scheme 'none'"),
    ],
)
def test_shape_errors_are_clear(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrl) as info:
        parse_url(url)
    assert reason in info.value.reason
    assert url in str(info.value)


async def test_allow_private_admits_loopback_but_never_metadata() -> None:
    assert (await check_url("http://127.0.0.1:9/x", allow_private=True)).host == "127.0.0.1"
    assert (await check_url("http://10.0.0.8/x", allow_private=True)).host == "10.0.0.8"
    with pytest.raises(UnsafeUrl, match="metadata"):
        await check_url("http://169.254.169.254/", allow_private=True)
    with pytest.raises(UnsafeUrl, match="scheme"):
        await check_url("ftp://127.0.0.1/", allow_private=True)


def test_public_addresses_pass() -> None:
    assert address_problem("93.184.216.34") is None
    assert address_problem("2606:4700:4700::1111") is None


class _FixedResolver(AbstractResolver):
    """Answers every lookup with the given addresses (simulates a rebinding DNS server)."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0)
            for a in self.addresses
        ]

    async def close(self) -> None:
        return None


async def test_guarded_resolver_drops_private_answers_at_connect_time() -> None:
    resolver = GuardedResolver(allow_private=False, inner=_FixedResolver("127.0.0.1"))
    with pytest.raises(OSError, match="no public address"):
        await resolver.resolve("feeds.example", 80)
    mixed = GuardedResolver(allow_private=False, inner=_FixedResolver("10.0.0.1", "93.184.216.34"))
    kept = await mixed.resolve("feeds.example", 80)
    assert [r["host"] for r in kept] == ["93.184.216.34"]
