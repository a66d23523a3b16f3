"""Configuration: defaults, the shipped file, and errors that name the key and the file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from koreapage_bot.config import (
    DEFAULT_DATABASE_URL,
    USER_AGENT,
    ConfigError,
    SlackMode,
    load_settings,
    parse_settings,
)

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config" / "koreapage.toml"
PG_URL = "postgresql+asyncpg://bot:secret@db.internal:5432/koreapage"


def write(tmp_path: Path, text: str, name: str = "koreapage.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_packaged_defaults_load_without_any_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no config/koreapage.toml here
    settings = load_settings(env={})
    assert settings.config_path is None
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.poll.interval_seconds >= 900 == settings.poll.min_interval_seconds
    assert settings.http.user_agent == USER_AGENT and "https://" in settings.http.user_agent
    assert settings.analysis.threshold == 0.5 and settings.analysis.issues_file is None
    assert not settings.analysis.llm.enabled
    assert settings.delivery.allow_private_feeds is False
    assert settings.delivery.admin_allowlist == ()
    assert settings.delivery.in_doubt == "resend"
    assert settings.delivery.max_in_flight == 32
    # The packaged default follows the same real feeds as the shipped file.
    assert len(settings.feeds) >= 6
    assert all(f.url.startswith("https://") for f in settings.feeds)


def test_empty_file_means_every_default(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""), env={})
    assert settings.config_path == tmp_path / "koreapage.toml"
    assert settings.feeds == ()
    assert settings.poll.interval_seconds == 1800 and settings.poll.tick_seconds == 30
    assert settings.http.max_body_bytes == 10 * 1024 * 1024


def test_config_dir_in_working_directory_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config").mkdir()
    write(tmp_path / "config", "[poll]\ninterval = 3600\n")
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={})
    assert settings.poll.interval_seconds == 3600
    assert settings.config_path == Path("config/koreapage.toml")


def test_shipped_config_validates() -> None:
    settings = load_settings(SHIPPED, env={})
    names = {f.name for f in settings.feeds}
    assert {"38 North", "NK News", "Korea Herald", "Daily NK"} <= names
    assert len({f.url for f in settings.feeds}) == len(settings.feeds)
    assert settings.analysis.issues_file == (REPO / "config" / "issues.toml").resolve()
    assert settings.poll.min_interval_seconds == 900
    assert settings.poll.interval_seconds >= settings.poll.min_interval_seconds


def test_environment_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, '[delivery]\nadmin_allowlist = ["U1"]\n')
    env = {
        "KOREAPAGE_CONFIG": str(path),
        "KOREAPAGE_DATABASE_URL": PG_URL,
        "KOREAPAGE_ADMIN_IDS": "U2, U3",
        "KOREAPAGE_LLM_API_KEY": "sk-test",
        "SLACK_BOT_TOKEN": "xoxb-1",
    }
    settings = load_settings(env=env)
    assert settings.config_path == path
    assert settings.database_url == PG_URL
    assert settings.delivery.admin_allowlist == ("U1", "U2", "U3")
    assert settings.analysis.llm.api_key == "sk-test"
    # An explicit path wins over KOREAPAGE_CONFIG.
    other = write(tmp_path, "[poll]\ninterval = 7200\n", "other.toml")
    assert load_settings(other, env=env).poll.interval_seconds == 7200


def test_koreapage_config_naming_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as err:
        load_settings(env={"KOREAPAGE_CONFIG": str(missing)})
    assert "KOREAPAGE_CONFIG" in str(err.value) and str(missing) in str(err.value)


@pytest.mark.parametrize(
    "url",
    ["sqlite:///data/x.db", "postgresql://bot:secret@db/x", "mysql+aiomysql://x/y", "data.db"],
)
def test_bad_database_url_names_the_variable_and_hides_secrets(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, ""), env={"KOREAPAGE_DATABASE_URL": url})
    message = str(err.value)
    assert "KOREAPAGE_DATABASE_URL" in message
    assert "sqlite+aiosqlite://" in message and "postgresql+asyncpg://" in message
    assert "secret" not in message


# Each case: TOML text, the key the message must name.
BAD_VALUES = [
    ("[poll]\ninterval = 'often'\n", "poll.interval"),  # wrong type
    ("[poll]\nconcurrency = true\n", "poll.concurrency"),  # a bool is not an int
    ("[poll]\nconcurrency = -2\n", "poll.concurrency"),  # negative
    ("[poll]\ntick = 0\n", "poll.tick"),
    ("[poll]\ninterval = 600\n", "poll.interval"),  # below min_interval (900)
    ("[poll]\njitter = 0.9\n", "poll.jitter"),
    ("[poll]\nintervall = 1800\n", "poll.intervall"),  # unknown key (typo)
    ("colour = 'blue'\n", "colour"),  # unknown top-level key
    ("poll = 5\n", "poll"),  # a table expected
    ("[http]\nread_timeout = -1.5\n", "http.read_timeout"),
    ("[http]\nuser_agent = 'koreapage-bot'\n", "http.user_agent"),  # no contact
    ("[analysis]\nthreshold = 1.5\n", "analysis.threshold"),
    ("[analysis]\nthreshold = -0.1\n", "analysis.threshold"),
    ("[analysis]\nthreshold = 'high'\n", "analysis.threshold"),
    ("[analysis]\nissues_file = 'missing-issues.toml'\n", "analysis.issues_file"),
    ("[analysis.llm]\nenabled = 'yes'\n", "analysis.llm.enabled"),
    ("[analysis.llm]\nenabled = true\nbase_url = 'ollama:11434'\n", "analysis.llm.base_url"),
    ("[analysis]\nllm = 'on'\n", "analysis.llm"),
    ("[delivery]\nin_doubt = 'maybe'\n", "delivery.in_doubt"),
    ("[delivery]\nadmin_allowlist = [1, 2]\n", "delivery.admin_allowlist"),
    ("[delivery]\nallow_private_feeds = 'no'\n", "delivery.allow_private_feeds"),
    ("[delivery]\nmax_attempts = 0\n", "delivery.max_attempts"),
    ("[delivery]\nmax_in_flight = 0\n", "delivery.max_in_flight"),
    ("[[feeds]]\nname = 'x'\n", "feeds[0].url"),  # required
    ("[[feeds]]\nurl = 'ftp://example.org/feed'\n", "feeds[0].url"),
    ("[[feeds]]\nurl = 'https://a.example/feed'\ninterval = 60\n", "feeds[0].interval"),
    (
        "[[feeds]]\nurl = 'https://a.example/feed'\n[[feeds]]\nurl = 'https://a.example/feed'\n",
        "feeds[1].url",
    ),
    ("[[feeds]]\nurl = 'https://a.example/feed'\nnmae = 'A'\n", "feeds[0].nmae"),
    ("feeds = 'https://a.example/feed'\n", "feeds"),
    ("[http]\ntotal_timeout = nan\n", "http.total_timeout"),  # every fetch would time out
    ("[http]\nread_timeout = inf\n", "http.read_timeout"),
    ("[delivery]\npublish_timeout = nan\n", "delivery.publish_timeout"),
    ("[delivery]\ndispatch_interval = -inf\n", "delivery.dispatch_interval"),
    ("[poll]\nmax_backoff = 9223372036854775807\n", "poll.max_backoff"),  # overflows dates
    ("[[feeds]]\nurl = 'http://[::1/feed'\n", "feeds[0].url"),  # a bracket never closed
    ("[[feeds]]\nurl = 'http://a.example:99999/feed'\n", "feeds[0].url"),
    ("[analysis]\narticle_private_hosts = 'wiki.example'\n", "analysis.article_private_hosts"),
    (
        "[analysis]\narticle_private_hosts = ['http://wiki.example/']\n",
        "analysis.article_private_hosts",
    ),
    ("[analysis]\narticle_private_hosts = ['wiki:8080']\n", "analysis.article_private_hosts"),
    ("[stories]\nwindow = 0\n", "stories.window"),
    ("[stories]\nwindow = 500\n", "stories.window"),  # a window longer than a week
    ("[stories]\nenable = false\n", "stories.enable"),
]


@pytest.mark.parametrize(("text", "key"), BAD_VALUES, ids=[k for _, k in BAD_VALUES])
def test_bad_value_names_key_and_file(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    message = str(err.value)
    assert str(path) in message, message
    assert f"`{key}`" in message, message


def test_interval_below_a_lowered_floor_is_fine_but_not_below_it(tmp_path: Path) -> None:
    ok = load_settings(write(tmp_path, "[poll]\ninterval = 600\nmin_interval = 300\n"), env={})
    assert ok.poll.interval_seconds == 600
    path = write(tmp_path, "[poll]\nmin_interval = 3600\n")  # the default 1800 is now too low
    with pytest.raises(ConfigError, match=r"`poll.interval` must be at least"):
        load_settings(path, env={})


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[poll]\ninterval = 1800\nconcurrency = \n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    message = str(err.value)
    assert str(path) in message and "not valid TOML" in message and "line 3" in message


def test_unreadable_config_file_is_a_config_error(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes("[delivery]\nconsole_channel = 'caf\u00e9'\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8") as err:
        load_settings(latin1, env={})
    assert str(latin1) in str(err.value)
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path, env={})  # a directory
    assert str(tmp_path) in str(err.value)


def test_relative_issues_file_resolves_beside_the_config(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    issues = tmp_path / "conf" / "my-issues.toml"
    issues.write_text((REPO / "config" / "issues.toml").read_text(encoding="utf-8"))
    path = write(tmp_path / "conf", "[analysis]\nissues_file = 'my-issues.toml'\n")
    assert load_settings(path, env={}).analysis.issues_file == issues.resolve()


def test_parse_settings_from_a_mapping() -> None:
    settings = parse_settings(
        {
            "poll": {"interval": 900, "jitter": 0},
            "http": {"connect_timeout": 3},  # an int where a float is expected is fine
            "feeds": [{"url": "https://a.example/feed", "interval": 3600}],
        },
        {},
        "<test>",
        None,
    )
    assert settings.http.connect_timeout == 3.0 and isinstance(settings.http.connect_timeout, float)
    (feed,) = settings.feeds
    assert feed.name == "a.example" and feed.interval_seconds == 3600
    with pytest.raises(ConfigError, match=r"^<test>: `poll.jitter`"):
        parse_settings({"poll": {"jitter": -0.1}}, {}, "<test>", None)


def test_article_private_hosts_are_bare_host_names(tmp_path: Path) -> None:
    text = "[analysis]\narticle_private_hosts = ['Wiki.Corp.Example.', '10.0.0.5', '[::1]']\n"
    settings = load_settings(write(tmp_path, text), env={})
    assert settings.analysis.article_private_hosts == ("wiki.corp.example", "10.0.0.5", "::1")


def test_every_variable_the_bot_reads_is_in_the_readme_table() -> None:
    # Every environment variable named in the source (config.py parses them; the CLI reads
    # KOREAPAGE_LOG_LEVEL and DISCORD_APPLICATION_ID) has a row in README's table.
    src = REPO / "src" / "koreapage_bot"
    code = "\n".join(p.read_text(encoding="utf-8") for p in src.rglob("*.py"))
    named = set(re.findall(r'"((?:KOREAPAGE|DISCORD|SLACK)_[A-Z_]+)"', code))
    table = [
        line
        for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| `")
    ]
    documented = {name for line in table for name in re.findall(r"`([A-Z_]+)`", line)}
    assert {"DISCORD_NONCE_WINDOW", "SLACK_ADMIN_USERS", "KOREAPAGE_HTTP_PORT"} <= named
    assert named - documented == set()


def test_adapter_variables_are_parsed_with_the_config() -> None:
    env = {
        "DISCORD_TOKEN": "t",
        "DISCORD_GUILD_ID": "42",
        "DISCORD_NONCE_WINDOW": "600",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "sig-secret-9",
        "SLACK_ADMIN_USERS": "U1, U2",
        "KOREAPAGE_HTTP_PORT": "0",
    }
    settings = parse_settings({}, env, "<test>", None)
    assert settings.discord is not None and settings.discord.guild_id == 42
    assert settings.discord.nonce_window == 120.0  # at most Discord's own window
    assert settings.slack is not None and settings.slack.admin_users == {"U1", "U2"}
    assert settings.slack.mode is SlackMode.HTTP and "sig-secret" not in repr(settings.slack)
    assert (settings.server.port, settings.server.requested) == (0, True)
    bare = parse_settings({}, {}, "<test>", None)
    assert (bare.discord, bare.slack, bare.server.requested) == (None, None, False)
    with pytest.raises(ConfigError, match="SLACK_CLIENT_ID"):
        parse_settings({}, {**env, "SLACK_CLIENT_ID": "a", "SLACK_CLIENT_SECRET": "b"}, "t", None)
    with pytest.raises(ConfigError, match="DISCORD_START_TIMEOUT"):
        parse_settings({}, {**env, "DISCORD_START_TIMEOUT": "inf"}, "<test>", None)


def test_notices_take_channel_ids_and_refuse_names() -> None:
    bare = parse_settings({}, {}, "<test>", None)
    assert bare.notices.channels() == {}
    table = {"discord_channel": "710000000000000009", "slack_channel": " C0OPS "}
    settings = parse_settings({"notices": table}, {}, "<test>", None)
    assert settings.notices.channels() == {"discord": "710000000000000009", "slack": "C0OPS"}
    only_slack = parse_settings({"notices": {"slack_channel": "G0PRIV"}}, {}, "<test>", None)
    assert only_slack.notices.channels() == {"slack": "G0PRIV"}
    for bad, key in [
        ({"discord_channel": "#ops"}, "notices.discord_channel"),
        ({"discord_channel": 123}, "notices.discord_channel"),
        ({"slack_channel": "#ops"}, "notices.slack_channel"),
        ({"slack_channel": "ops"}, "notices.slack_channel"),
        ({"email": "ops@example.org"}, "notices.email"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(key)):
            parse_settings({"notices": bad}, {}, "<test>", None)
    # The shipped file documents the table (its keys commented out: no notices by default).
    shipped = load_settings(SHIPPED, env={})
    assert shipped.notices.channels() == {}
    assert "[notices]" in SHIPPED.read_text(encoding="utf-8")


def test_discord_shards_per_process() -> None:
    from koreapage_bot.config import discord_config

    shared = discord_config({"DISCORD_SHARD_COUNT": "4", "DISCORD_SHARD_IDS": "0, 2-3"})
    assert (shared.sharded, shared.shard_count, shared.shard_ids) == (True, 4, (0, 2, 3))
    every = discord_config({"DISCORD_SHARD_COUNT": "2"})
    assert (every.shard_count, every.shard_ids) == (2, None)
    assert discord_config({}).shard_count is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DISCORD_SHARD_IDS": "1"}, "needs DISCORD_SHARD_COUNT"),
        ({"DISCORD_SHARD_COUNT": "0"}, "DISCORD_SHARD_COUNT must be a whole number"),
        ({"DISCORD_SHARD_COUNT": "two"}, "DISCORD_SHARD_COUNT must be a whole number"),
        ({"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "2"}, "not within 0-1"),
        ({"DISCORD_SHARD_COUNT": "4", "DISCORD_SHARD_IDS": "3-1"}, "not within 0-3"),
        ({"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "a"}, "shard numbers or ranges"),
        ({"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "1,1"}, "names a shard twice"),
        ({"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": ","}, "names no shard"),
    ],
)
def test_bad_discord_shards_stop_the_bot_with_the_variable_named(
    env: dict[str, str], message: str
) -> None:
    from koreapage_bot.config import discord_config

    with pytest.raises(ConfigError, match=message):
        discord_config(env)


def test_stories_settings(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "[stories]\nenabled = false\nwindow = 24\n"), env={})
    assert settings.stories.enabled is False and settings.stories.window_hours == 24.0
    assert load_settings(write(tmp_path, ""), env={}).stories.window_hours == 72.0
