"""The dispatcher and the digests on the in-memory store: the same tests as
tests/integration/delivery/test_dispatcher.py and test_digests.py, which run them on SQLite
and PostgreSQL. Imported, they are collected here too, where tests/unit/conftest.py gives
them the memory store."""

from __future__ import annotations

from tests.integration.delivery.test_digests import (  # noqa: F401
    test_a_digest_with_more_briefs_than_fit_says_how_many_were_left_out,
    test_console_prints_a_digest,
    test_dispatcher_sends_a_digest_with_publish_digest,
    test_queue_collects_matching_briefs_since_the_mark_once,
)
from tests.integration.delivery.test_dispatcher import (  # noqa: F401
    test_a_lookup_that_can_never_answer_follows_the_in_doubt_policy,
    test_a_lookup_that_cannot_answer_now_is_asked_again_and_never_resent_blind,
    test_a_lost_answer_is_looked_up_before_posting_again,
    test_a_publisher_bug_is_retried_not_lost,
    test_a_rate_limited_brief_is_not_overtaken_by_the_next_one,
    test_a_row_held_by_another_host_is_settled_once_its_heartbeat_stops,
    test_a_servers_retry_after_is_honoured_when_longer_than_backoff,
    test_briefs_for_one_channel_go_out_in_order,
    test_console_publisher_prints_each_brief_once,
    test_crash_between_claim_and_send,
    test_crash_between_send_and_record,
    test_permanent_failure_is_dead_at_once_and_the_channel_stays_active,
    test_rate_limits_do_not_shrink_the_cap_for_real_failures,
    test_rate_limits_never_spend_attempts_nor_kill_a_delivery,
    test_run_loop_recovers_then_sends_on_wake_and_stops,
    test_server_errors_and_timeouts_back_off_then_go_dead_and_retry_by_hand,
    test_stop_ends_the_sweep_after_the_sends_in_flight,
    test_unusable_channel_pauses_its_subscription_and_holds_its_rows,
)
