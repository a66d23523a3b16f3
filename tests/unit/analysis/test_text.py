from koreapage_bot.analysis.text import html_to_text, normalize_text, split_sentences


def test_abbreviations_do_not_split() -> None:
    text = (
        "Gen. Paul LaCamera met U.S. Forces Korea staff on Jan. 5 in Seoul. "
        "The No. 2 official at the U.S. Embassy joined them."
    )
    assert split_sentences(text) == [
        "Gen. Paul LaCamera met U.S. Forces Korea staff on Jan. 5 in Seoul.",
        "The No. 2 official at the U.S. Embassy joined them.",
    ]


def test_us_at_the_end_of_a_sentence_splits_before_an_opener() -> None:
    text = "Seoul relies on the U.S. The alliance dates from 1953."
    assert split_sentences(text) == ["Seoul relies on the U.S.", "The alliance dates from 1953."]


def test_initials_and_short_country_names_stay_together() -> None:
    assert split_sentences("S. Korea and N. Korea met. Talks ended.") == [
        "S. Korea and N. Korea met.",
        "Talks ended.",
    ]


def test_quotes_end_sentences_only_when_the_next_one_starts() -> None:
    text = (
        '"We will not pay five times more," the minister said. "Talks go on." '
        'He added: "Is that fair?" she asked. Officials agreed.'
    )
    assert split_sentences(text) == [
        '"We will not pay five times more," the minister said.',
        '"Talks go on."',
        'He added: "Is that fair?" she asked.',
        "Officials agreed.",
    ]


def test_line_breaks_end_sentences() -> None:
    assert split_sentences("Heading without a stop\nBody text here.") == [
        "Heading without a stop",
        "Body text here.",
    ]


def test_html_to_text_keeps_paragraphs_and_drops_scripts() -> None:
    markup = (
        "<div><p>First &amp; foremost.</p><script>var x = 1;</script>"
        "<p>Second<br>line</p><style>p{}</style></div>"
    )
    assert html_to_text(markup) == "First & foremost.\nSecond\nline"


def test_normalize_text_removes_leaked_markup() -> None:
    raw = "Talks in &to=http:// example.org/a.html ' target=_blank>Washington ended.\n\n![]() |\n"
    assert normalize_text(raw) == "Talks in Washington ended."


def test_korean_sentences_split_at_their_endings_and_not_inside_quotes() -> None:
    from koreapage_bot.analysis.normalize import normalize_page

    glued = normalize_page("한미 양국이 협상을 시작했다.미국은 인상을 요구했다.").text
    assert split_sentences(glued) == ["한미 양국이 협상을 시작했다.", "미국은 인상을 요구했다."]
    quoted = "그는 “동맹은 굳건하다. 협상은 계속된다”고 말했다. 정부도 같은 입장이다."
    assert split_sentences(quoted)[-1] == "정부도 같은 입장이다."
    assert split_sentences("“협상은 계속된다.”고 말했다. 다음 회의는 5월이다.") == [
        "“협상은 계속된다.”고 말했다.",
        "다음 회의는 5월이다.",
    ]


def test_language_detection() -> None:
    from koreapage_bot.analysis.text import detect_language

    assert detect_language("한미 양국은 분담금 협상을 시작했다. USFK와 SMA가 쟁점.") == "ko"
    assert detect_language("Seoul and Washington began talks. 한미 (Korea-US) talks.") == "en"
    assert detect_language("") == "en"
