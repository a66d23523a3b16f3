"""The shared text grammar: every form, and every malformed input gets a usage line."""

from __future__ import annotations

import dataclasses

import pytest

from koreapage_bot.commands.grammar import (
    GROUPS,
    Command,
    Digest,
    FeedsAdd,
    FeedsList,
    FeedsRemove,
    GrammarError,
    Help,
    Issue,
    Latest,
    Search,
    Show,
    Subscribe,
    Subscriptions,
    Unsubscribe,
    commands,
    parse,
    usage,
    usage_line,
)


def briefs(text: str | None) -> Command:
    return parse("briefs", text)


def feeds(text: str | None) -> Command:
    return parse("feeds", text)


def error(group: str, text: str) -> GrammarError:
    with pytest.raises(GrammarError) as info:
        parse(group, text)
    return info.value


# --- help ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "", "   ", "help", "HELP", "?", "--help", "-h", "\t\n"])
def test_empty_or_help_is_help(text: str | None) -> None:
    assert briefs(text) == Help("briefs")
    assert feeds(text) == Help("feeds")


def test_help_with_a_topic() -> None:
    assert briefs("help search") == Help("briefs", "search")
    assert briefs("help SUBSCRIBE extra") == Help("briefs", "subscribe")
    assert briefs("help find") == Help("briefs", "search")
    assert briefs("help nonsense") == Help("briefs", None)
    assert feeds("help add") == Help("feeds", "add")


# --- latest --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("latest", Latest(5, None)),
        ("latest 3", Latest(3, None)),
        ("latest usfk", Latest(5, "usfk")),
        ("latest 5 usfk", Latest(5, "usfk")),
        ("latest usfk 5", Latest(5, "usfk")),
        ("LATEST 10 USFK", Latest(10, "usfk")),
        ("  Latest    1\t  GSOMIA  ", Latest(1, "gsomia")),
        ("latest #usfk", Latest(5, "usfk")),
        ('latest "usfk" 2', Latest(2, "usfk")),
        ("latest +7", Latest(7, None)),
        ("latest 05", Latest(5, None)),
    ],
)
def test_latest(text: str, expected: Latest) -> None:
    assert briefs(text) == expected


def test_latest_reads_leading_zeros_however_many() -> None:
    assert parse("briefs", "latest " + "0" * 5000 + "7") == Latest(count=7)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("latest 0", "between 1 and 10"),
        ("latest 11", "between 1 and 10"),
        ("latest -3", "between 1 and 10"),
        ("latest 99999999999999999999", "between 1 and 10"),
        ("latest " + "9" * 5000, "between 1 and 10"),  # more digits than int() converts
        ("latest 2.5", "whole number"),
        ("latest 3 4", "one number"),
        ("latest usfk gsomia", "one issue"),
        ("latest 3 usfk gsomia", "one issue"),
    ],
)
def test_latest_malformed(text: str, fragment: str) -> None:
    err = error("briefs", text)
    assert fragment in err.message
    assert err.usage == "/briefs latest [n] [issue]"
    assert err.group == "briefs" and err.command == "latest"
    assert err.usage in str(err)


# --- search --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "query", "terms"),
    [
        ("search tariffs", "tariffs", ("tariffs",)),
        ("search nuclear  submarine", "nuclear submarine", ("nuclear", "submarine")),
        ('search "cost sharing"', '"cost sharing"', ("cost sharing",)),
        ('search "cost   sharing" usfk', '"cost sharing" usfk', ("cost sharing", "usfk")),
        ('search usfk "cost sharing"', 'usfk "cost sharing"', ("usfk", "cost sharing")),
        ('search "cost sharing', '"cost sharing"', ("cost sharing",)),  # unbalanced
        ('search cost sharing"', "cost sharing", ("cost", "sharing")),  # stray closing quote
        ("search “cost sharing”", '"cost sharing"', ("cost sharing",)),  # smart quotes
        ("SEARCH Korea's defence", "Korea's defence", ("Korea's", "defence")),
        ("search 한미 동맹", "한미 동맹", ("한미", "동맹")),
        ("find tariffs", "tariffs", ("tariffs",)),
        ("search cost &amp; benefit", "cost & benefit", ("cost", "&", "benefit")),  # Slack escape
    ],
)
def test_search(text: str, query: str, terms: tuple[str, ...]) -> None:
    result = briefs(text)
    assert result == Search(query=query, terms=terms)
    assert isinstance(result, Search) and result.text == " ".join(terms)


@pytest.mark.parametrize("text", ["search", "search   ", 'search ""', 'search "   "', 'search "'])
def test_search_empty_is_a_usage_error(text: str) -> None:
    err = error("briefs", text)
    assert err.command == "search"
    assert err.usage.startswith("/briefs search ")


# --- issue / show --------------------------------------------------------------------------------


def test_issue_and_show() -> None:
    assert briefs("issue usfk") == Issue("usfk")
    assert briefs("ISSUE  Cost-Sharing ") == Issue("cost-sharing")
    assert briefs("issue #GSOMIA") == Issue("gsomia")
    assert briefs("show 42") == Show("42")
    assert briefs("show #42") == Show("42")
    assert briefs("Show abc") == Show("abc")  # the service decides what a valid id is


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("issue", "issue"),
        ("issue usfk gsomia", "issue"),
        ("show", "show"),
        ("show 1 2", "show"),
        ("show #", "show"),
    ],
)
def test_issue_and_show_malformed(text: str, command: str) -> None:
    err = error("briefs", text)
    assert err.command == command
    assert err.usage == usage_line("briefs", command)


# --- subscribe -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("subscribe", Subscribe()),
        ("subscribe gsomia usfk", Subscribe(("gsomia", "usfk"))),
        ("subscribe gsomia,usfk", Subscribe(("gsomia", "usfk"))),
        ("subscribe GSOMIA, USFK ,, sma", Subscribe(("gsomia", "usfk", "sma"))),
        ("subscribe usfk usfk", Subscribe(("usfk",))),
        ("subscribe --digest 08:00", Subscribe((), "08:00")),
        ("subscribe --digest 8:05 usfk", Subscribe(("usfk",), "08:05")),
        ("subscribe usfk digest 23:59 Asia/Seoul", Subscribe(("usfk",), "23:59", "Asia/Seoul")),
        ("subscribe --digest 07:30 asia/seoul", Subscribe((), "07:30", "Asia/Seoul")),
        ("subscribe --digest 07:30 utc japan", Subscribe(("japan",), "07:30", "UTC")),
        ("subscribe --digest=06:00 America/New_York", Subscribe((), "06:00", "America/New_York")),
        ("subscribe —digest 09:00 --no-posts", Subscribe((), "09:00", None, False)),
        ("subscribe usfk --no-posts --digest 00:00", Subscribe(("usfk",), "00:00", None, False)),
        # Bare zone aliases are not read as zones: "japan" stays an issue id.
        ("subscribe --digest 08:00 Japan", Subscribe(("japan",), "08:00")),
        ("sub usfk", Subscribe(("usfk",))),
    ],
)
def test_subscribe(text: str, expected: Subscribe) -> None:
    assert briefs(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("subscribe --digest", "HH:MM"),
        ("subscribe digest", "HH:MM"),
        ("subscribe --digest 24:00", "HH:MM"),
        ("subscribe --digest 8", "HH:MM"),
        ("subscribe --digest 08:60", "HH:MM"),
        ("subscribe --digest noon", "HH:MM"),
        ("subscribe --digest 08:00 Mars/Olympus", "Unknown time zone"),
        ("subscribe --digest 08:00 --digest 09:00", "one digest time"),
        ("subscribe --no-posts", "--no-posts needs --digest"),
        ("subscribe usfk --loud", "Unknown option"),
    ],
)
def test_subscribe_malformed(text: str, fragment: str) -> None:
    err = error("briefs", text)
    assert fragment in err.message
    assert err.command == "subscribe"
    assert err.usage == usage_line("briefs", "subscribe")


# --- argument-less commands ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("unsubscribe", Unsubscribe()),
        ("UNSUB", Unsubscribe()),
        ("subscriptions", Subscriptions()),
        ("subs", Subscriptions()),
        ("digest", Digest()),
        ("  Digest  ", Digest()),
    ],
)
def test_simple_commands(text: str, expected: Command) -> None:
    assert briefs(text) == expected


@pytest.mark.parametrize("name", ["unsubscribe", "subscriptions", "digest"])
def test_simple_commands_refuse_arguments(name: str) -> None:
    err = error("briefs", f"{name} please")
    assert err.command == name
    assert "no arguments" in err.message


# --- unknown sub-commands ------------------------------------------------------------------------


def test_unknown_subcommand_suggests_and_lists_usage() -> None:
    err = error("briefs", "lates 5")
    assert "did you mean `latest`" in err.message
    assert err.command is None
    assert err.usage == usage("briefs")


def test_unknown_subcommand_without_a_near_match() -> None:
    err = error("briefs", "xyzzy")
    assert "Unknown command `xyzzy`" in err.message
    assert "did you mean" not in err.message
    long = error("briefs", "a" * 500)
    assert len(long.message) < 100


# --- feeds ---------------------------------------------------------------------------------------

URL = "https://news.example.org/rss.xml"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"add {URL}", FeedsAdd(URL)),
        (f"ADD   {URL}  ", FeedsAdd(URL)),
        (f"add <{URL}>", FeedsAdd(URL)),
        (f"add <{URL}|news.example.org/rss.xml>", FeedsAdd(URL)),
        (
            "add <https://x.example/feed?a=1&amp;b=2|x.example/feed?a=1&amp;b=2>",
            FeedsAdd("https://x.example/feed?a=1&b=2"),
        ),
        ("add <http://x.example/feed|x.example/feed>", FeedsAdd("http://x.example/feed")),
        ("remove 12", FeedsRemove("12")),
        ("remove #12", FeedsRemove("12")),
        ("rm 3", FeedsRemove("3")),
        (f"remove <{URL}|{URL}>", FeedsRemove(URL)),
        ("list", FeedsList()),
        ("LS", FeedsList()),
    ],
)
def test_feeds(text: str, expected: Command) -> None:
    assert feeds(text) == expected
    # The same forms reach the feeds group through `/briefs feeds ...` (one console entry point).
    assert briefs("feeds " + text) == expected


@pytest.mark.parametrize(
    ("text", "command", "fragment"),
    [
        ("add", "add", "feed URL"),
        (f"add {URL} {URL}", "add", "exactly one"),
        ("remove", "remove", "feed id"),
        ("remove 1 2", "remove", "exactly one"),
        ("remove #", "remove", "feed id"),
        ("list all", "list", "no arguments"),
    ],
)
def test_feeds_malformed(text: str, command: str, fragment: str) -> None:
    err = error("feeds", text)
    assert err.command == command
    assert fragment in err.message
    assert err.usage == usage_line("feeds", command)
    assert err.usage.startswith("/feeds ")


def test_feeds_unknown_subcommand() -> None:
    err = error("feeds", "ad https://x.example")
    assert "did you mean `add`" in err.message
    assert err.usage == usage("feeds")
    assert briefs("feeds") == Help("feeds")


# --- slack formatting everywhere -----------------------------------------------------------------


def test_slack_mentions_and_links_are_unwrapped() -> None:
    assert briefs("search <https://a.example/x|a.example/x>") == Search(
        "https://a.example/x", ("https://a.example/x",)
    )
    assert briefs("search <@U123|kim> <#C1|general> <!here>") == Search(
        "@kim #general @here", ("@kim", "#general", "@here")
    )
    assert briefs("latest\u00a05\u00a0usfk") == Latest(5, "usfk")


# --- groups and usage ----------------------------------------------------------------------------


def test_groups() -> None:
    assert GROUPS == ("briefs", "feeds")
    assert parse("/Briefs", "latest") == Latest()
    with pytest.raises(ValueError):
        parse("admin", "latest")
    with pytest.raises(ValueError):
        usage("nope")


def test_usage_lists_every_subcommand_one_line_each() -> None:
    for group in GROUPS:
        text = usage(group)
        lines = text.splitlines()
        assert len(lines) == len(commands(group))
        for name, line in zip(commands(group), lines, strict=True):
            assert line.startswith(f"/{group} {name}")
            assert len(line) <= 100
    assert usage("briefs", prefix="").startswith("briefs latest")
    assert set(commands("briefs")) >= {
        "latest", "search", "issue", "show", "subscribe", "unsubscribe", "subscriptions",
        "digest", "help",
    }  # fmt: skip
    assert set(commands("feeds")) == {"add", "remove", "list", "help"}


def test_every_usage_form_parses() -> None:
    # The examples in the usage text itself are accepted (with placeholders filled in).
    samples = {
        "briefs": [
            "latest 5 usfk", 'search "cost sharing"', "issue usfk", "show 1",
            "subscribe usfk --digest 08:00 Asia/Seoul --no-posts", "unsubscribe",
            "subscriptions", "digest", "help",
        ],
        "feeds": [f"add {URL}", "remove 1", "list", "help"],
    }  # fmt: skip
    for group, texts in samples.items():
        names = {type(parse(group, t)).name for t in texts}
        expected = {n if group == "briefs" else f"feeds {n}" for n in commands(group)}
        expected = {"help" if n.endswith("help") else n for n in expected}
        assert names == expected


def test_command_values_are_frozen() -> None:
    value = briefs("latest 5 usfk")
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.count = 6  # type: ignore[union-attr,misc]
    assert hash(value) == hash(Latest(5, "usfk"))


def test_subscribe_every_report_or_per_story() -> None:
    every = parse("briefs", "subscribe usfk --every-report")
    assert isinstance(every, Subscribe) and every.every_report is True
    per_story = parse("briefs", "subscribe --per-story")
    assert isinstance(per_story, Subscribe) and per_story.every_report is False
    plain = parse("briefs", "subscribe usfk")
    assert isinstance(plain, Subscribe) and plain.every_report is None  # as it was
    with pytest.raises(GrammarError, match="not both"):
        parse("briefs", "subscribe --every-report --per-story")
