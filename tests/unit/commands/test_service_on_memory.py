"""The command service on the in-memory store, fed by the real poller and analyser: the same
tests as tests/integration/commands/test_service.py and test_feedlist.py, which run them on
SQLite and PostgreSQL. Imported, they are collected here too, where tests/unit/conftest.py
gives them the memory store."""

from __future__ import annotations

from tests.integration.commands.conftest import (  # noqa: F401
    feed_server,
    harness,
)
from tests.integration.commands.test_feedlist import (  # noqa: F401
    test_import_adds_skips_and_explains,
)
from tests.integration.commands.test_service import (  # noqa: F401
    test_digest_is_since_the_last_digest_for_this_channel,
    test_execute_malformed_gets_a_usage_line,
    test_execute_text_commands,
    test_feeds_add_accepts_a_served_feed_when_private_is_allowed,
    test_feeds_add_discovers_the_feed_of_a_page,
    test_feeds_add_of_a_page_listing_thousands_of_feeds_tries_only_a_few,
    test_feeds_add_refuses_a_page_without_a_feed,
    test_feeds_add_refuses_credentials_and_other_schemes,
    test_feeds_add_refuses_loopback_when_private_is_not_allowed,
    test_feeds_add_refuses_non_admins,
    test_feeds_remove_and_list,
    test_issue,
    test_issue_choices_and_usage,
    test_latest_blank_issue_means_any,
    test_latest_count_bounds,
    test_latest_newest_first_with_count_and_issue,
    test_resubscribe_updates_filters_and_resumes,
    test_resubscribing_from_chat_keeps_what_chat_cannot_express,
    test_search_best_match_first,
    test_search_empty_and_blank,
    test_servers_manage_their_own_chat_feeds_within_a_cap,
    test_show,
    test_subscribe_needs_an_admin_or_the_allowlist,
    test_subscribe_unknown_issue_is_refused,
    test_subscriptions_shows_this_channel_and_paused_reason,
    test_the_operator_at_the_console_may_add_a_private_feed,
    test_unknown_issue_lists_valid_ids,
    test_unsubscribe,
)
