"""Relevance and key-issue rules for error patterns seen on real articles outside the project
(issue 9, third round): trade told as a market story, alliance terms used about other
alliances, a passing mention of a strong term, the troops or the command named without the
issue, background context words, Korean vocabulary, split terms.

Every text is written for the project, in its own words; each test names the rule it holds.
"""

from __future__ import annotations

from koreapage_bot.analysis.pipeline import OfflineAnalyzer
from koreapage_bot.domain import Analysis, ArticleInput

ANALYZER = OfflineAnalyzer()


def _analyze(title: str, text: str) -> Analysis:
    return ANALYZER.analyze_now(ArticleInput(id="p", title=title, text=text))


def _issues(a: Analysis) -> list[str]:
    return [k.id for k in a.key_issues]


# --- the troops or the command named is not the issue ----------------------------------------


def test_us_troops_named_in_a_drill_story_are_not_the_troop_presence_issue() -> None:
    text = (
        "South Korean and U.S. troops staged a combined river-crossing drill in Yeoncheon on "
        "Tuesday, the army said.\n"
        "About 500 troops and 40 armored vehicles took part in the combined exercise, which "
        "tested bridging units.\n"
        "The United States keeps about 28,500 troops in South Korea.\n"
        "The American forces stationed in Korea hold such drills with the South twice a year."
    )
    a = _analyze("Allies stage river-crossing drill", text)
    assert a.relevant and "exercises" in _issues(a), a.why
    assert "usfk" not in _issues(a), _issues(a)


def test_troops_with_what_happens_to_them_are_the_troop_presence_issue() -> None:
    text = (
        "Washington is weighing a cut of about 4,500 of the U.S. troops in South Korea, "
        "officials said, and moving some of them to Guam.\n"
        "South Korea's defense ministry said the troop reduction had not been discussed with "
        "Seoul."
    )
    assert "usfk" in _issues(_analyze("U.S. weighs troop cut in Korea", text))


def test_the_combined_command_running_a_drill_is_not_the_opcon_issue() -> None:
    text = (
        "The Combined Forces Command began the Freedom Shield exercise on Monday, with South "
        "Korean and U.S. troops training together for 11 days.\n"
        "Drills run by the CFC will include more field training than last year.\n"
        "Seoul and Washington said the exercise was defensive."
    )
    a = _analyze("Allied command opens spring exercise", text)
    assert a.relevant and "exercises" in _issues(a), a.why
    assert "opcon" not in _issues(a) and "usfk" not in _issues(a), _issues(a)


def test_the_combined_command_and_its_transfer_are_the_opcon_issue() -> None:
    text = (
        "Seoul and Washington agreed to hand wartime operational control to a Korean general "
        "once the Combined Forces Command is reorganised, officials said."
    )
    assert "opcon" in _issues(_analyze("Allies set terms for command transfer", text))


# --- one mention in passing is not a key issue; one in the headline is -------------------------


def test_a_strong_term_recalled_in_passing_is_not_a_key_issue() -> None:
    text = (
        "South Korea and the United States opened talks on a new Special Measures Agreement in "
        "Seoul on Tuesday.\n"
        "Washington wants Seoul to pay more toward the cost of stationing U.S. troops.\n"
        "Seoul's negotiator said the current deal already covers most labor costs.\n"
        "The two sides will meet again next month in Honolulu.\n"
        "The talks are the first since the two allies settled their quarrel over THAAD in 2017."
    )
    a = _analyze("Allies open talks on cost sharing", text)
    assert a.relevant and "cost-sharing" in _issues(a), a.why
    assert "missile-defense" not in _issues(a), _issues(a)


def test_an_issue_named_once_in_the_headline_of_a_long_post_is_a_key_issue() -> None:
    body = " ".join(
        [
            "Defense officials of South Korea and the United States met at the Pentagon on "
            "Thursday for two days of talks.",
            "The delegations reviewed plans for the coming year and discussed space and cyber "
            "cooperation.",
            "Officials gave few details and called the talks productive.",
        ]
        * 12
    )
    a = _analyze("Allies discuss the nuclear umbrella at Pentagon talks", body)
    assert a.relevant and "extended-deterrence" in _issues(a), a.why


# --- another ally's alliance terms are that ally's ------------------------------------------


def test_alliance_terms_in_a_sentence_about_another_ally_are_that_ally_s() -> None:
    text = (
        "Japan agreed to raise its host-nation support for the American troops based in the "
        "country by a tenth over five years.\n"
        "The commander of U.S. Forces Japan welcomed the deal, which funds new barracks on "
        "Okinawa.\n"
        "Host-nation support for Japan covers utilities and the wages of Japanese base "
        "workers.\n"
        "The deal comes as Washington seeks a similar increase from South Korea."
    )
    a = _analyze("Tokyo agrees to pay more for American bases", text)
    assert "cost-sharing" not in _issues(a) and "usfk" not in _issues(a), _issues(a)
