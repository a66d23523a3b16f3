"""Extractive summary: 2-3 sentences that stand alone, headline fact first, ≤ ~600 characters.

1. The anchor: among the first sentences of the body, the one that carries the headline's
   central fact (most of the title's words, weighted by how rare they are in the post), so a
   poll figure or "suspends the exercises" in the title is in the brief.
2. By genre: an analysis or op-ed adds its thesis, the author's own "should / must / it is in
   our interest" sentence (not a quoted one), from the conclusion rather than the middle; an
   official document (joint statement, fact sheet) adds its main commitments ("reaffirmed",
   "agreed", "will") on the issues it covers.
3. Development: the most central remaining sentences (TF-IDF cosine to the post), favouring
   ones that cover a key issue not yet covered, concrete figures, and the lead.

Every sentence must stand alone: no opener that leans on what came before ("However,",
"This…", "The graph below…", "As part of this deal…", "그러나", "이는") unless the sentence it
leans on comes right before it in the summary; no quote cut in half, no fragment, no
question, no heading. Captions, datelines and boilerplate never get here (normalize.py and
noise.py take them out first). The anchor comes first, the rest in the post's order.
Korean posts are summarised in Korean, with Korean words and endings.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from koreapage_bot.analysis.lexicon import Doc, Sentence
from koreapage_bot.analysis.text import wordset

MAX_CHARS = 600
MAX_SENTENCES = 3
DUPLICATE_COSINE = 0.5
ANCHOR_WINDOW = 6  # body sentences the anchor is looked for in
TITLE_WEIGHT = 0.25
LEAD_BONUS = 0.1  # the first sentence; decays with position
FIGURE_BONUS = 0.08  # amounts, percentages: concrete facts
ISSUE_BONUS = 0.1  # names one of the post's key issues
COVER_BONUS = 0.15  # names a key issue not yet covered by the summary
CONCLUSION_BONUS = 0.12  # analysis: the closing part argues the point
THESIS_MIN = 2  # normative sentences (outside quotes) that make a post an analysis
THESIS_LATE = 0.1  # the conclusion's recommendation is the thesis rather than the setup
OUTCOME_BONUS = 0.06  # a decision taken: what happened, not what was asked
LEAD_ANCHOR = 0.3  # news: the lead's claim to be the anchor

_TOKEN = re.compile(r"[a-z][a-z'\-]+|\d[\d,.]*|[가-힣]+")
_STOP = wordset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in into
    is it its itself just me more most my myself no nor not now of off on once only or other our
    ours out over own same she should so some such than that the their theirs them then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your said says say told one two new last year years
    week month monday tuesday wednesday thursday friday saturday sunday would could may might
    must shall"""
)
_KO_STOP = wordset("것 수 등 및 이 그 저 더 또 위해 대해 통해 따라 관련 있다 없다 했다 밝혔다")
# Particles and endings at the end of a Korean word (longest first).
_KO_SUFFIX = re.compile(
    r"(?:에서는|에서도|으로는|으로서|으로써|에게서|까지는|부터는|이라는|이라고|에서|으로|에게|까지|"
    r"부터|처럼|보다|이나|이며|이고|에는|에도|과의|와의|은|는|이|가|을|를|의|에|와|과|도|만|로)$"
)
# "SEOUL, Aug. 14 (UPI) -- ", "CAMP HUMPHREYS, South Korea — ": a dateline, not content.
_DATELINE = re.compile(
    r"^[A-Z][A-Z.'\- ]{1,30}[A-Z.](?:,\s*[A-Z][\w.]*(?:\s[A-Z][\w.]*){0,2})?"
    r"(?:,?\s*[A-Z][a-z]{2,4}\.?\s+\d{1,2})?(?:\s*\([A-Za-z]+\))?\s*(?:—|–|--|-)\s+"
)
_FIGURE = re.compile(
    r"\$\s?\d|\d+(?:\.\d+)?\s?(?:%|percent|billion|million|trillion)|\b\d{2,}\b|"
    r"\d+(?:\.\d+)?\s?(?:%|억|조|만|천)"
)
# Openers that lean on the sentence before ("However,", "This…", "As part of this deal…").
_DANGLING = re.compile(
    r"^(?:However|But|And|Or|So|Yet|Still|Also|Meanwhile|Moreover|Furthermore|Instead|Thus|"
    r"Therefore|Hence|Then|Likewise|Similarly|Nevertheless|Nonetheless|Otherwise|Besides|"
    r"Indeed|Conversely|Accordingly|Consequently|Even so|After all|In addition|In turn|"
    r"In contrast|By contrast|On the other hand|For example|For instance|In response|"
    r"As a result|As such|As part of (?:this|that|the deal|the agreement)|"
    r"Following (?:the|this|that) (?:decision|move|announcement|remarks?)|"
    r"(?:This|These|That|Those|Such)(?! (?:year|week|month|time|morning|afternoon|evening|"
    r"spring|summer|fall|autumn|winter)\b)|They|Their|He|She|His|Her|Its|Both|Another|"
    r"The (?:latter|former|other|same|two|three|move|decision|remarks?|comments?|plan|deal|"
    r"agreement|measure|report|survey|study|graph|chart|table|figure|map|photo|image|video)"
    r"(?= (?:below|above|shown|was|is|also|has|had|came|comes|will|would)\b)|"
    r"The (?:graph|chart|table|figure|map|photo|image|video) (?:below|above)|"
    r"It)\b|"
    r"^(?:그러나|하지만|그런데|또한|또|이에|이는|이와|이같은|이 같은|이를|이로|이로써|이러한|그는|"
    r"그녀는|그러면서|이어|반면|따라서|그래서|한편|게다가|다만|그럼에도|앞서|이후|이때|그 결과|"
    r"이 때문에|이번|해당|같은 날|이날)(?=\s|,)"
)
# The author's own argument, not a quote: "should", "must", "it is in … interest".
_NORMATIVE = re.compile(
    r"\b(?:should|must|ought to|needs? to|has to|have to|it is (?:time|imperative|essential|"
    r"vital|crucial|necessary)|in (?:its|their|our|the [\w’' -]{2,30}) (?:best )?interests?|"
    r"cannot afford|would do well|the best (?:way|course)|the answer is)\b|"
    # Korean: any verb + "-야 한다" ("지켜야 한다", "나서야 한다"), but not a view reported
    # ("중단해야 한다는 목소리", "해야 한다고 말했다").
    r"[가-힣]야 (?:한다|할 것이다|합니다)(?![는고며])|필요가 있다|필요하다|바람직하다|마땅하다",
    re.IGNORECASE,
)
_REPORTED = re.compile(
    r"\b(?:said|says|told|according to|argued|added|stated|wrote)\b|[\"“”]|"
    r"(?:라고|이라며|다며|고) (?:말했|밝혔|강조했|지적했|주장했)",
)
_COMMITMENT = re.compile(
    r"\b(?:reaffirm(?:ed|s)?|commit(?:ted|s)?(?: to)?|agree[ds]?|pledge[ds]?|decided|"
    r"will (?:continue|strengthen|enhance|expand|establish|hold|launch|work|provide|invest|"
    r"cooperate|deploy|maintain|seek)|resolved|welcomed)\b|재확인|합의했다|약속했다|하기로 했다",
    re.IGNORECASE,
)
_OUTCOME = re.compile(
    r"\b(?:decided|decision to|reversed?|approved|signed|rejected|extended|suspended|"
    r"withdrew|withdrawn|concluded|agreed|finali[sz]ed|announced|deployed|resumed|halted|"
    r"cancel(?:l)?ed|postponed|completed)\b|결정했다|합의했다|타결|서명했다|발표했다|중단했다|"
    r"철회했다|연기했다|승인했다",
    re.IGNORECASE,
)
_OFFICIAL = re.compile(
    r"\b(?:Joint (?:Statement|Fact Sheet|Declaration|Communiqu[eé]|Press Statement)|"
    r"Fact Sheet|Readout|Leaders' Statement)\b|공동성명|공동 설명자료|팩트시트|공동선언|공동발표문",
    re.IGNORECASE,
)
_OPINION = re.compile(
    r"\b(?:Opinion|Op-Ed|Commentary|Editorial|Column|Perspective|Viewpoint|Analysis)\b|"
    r"칼럼|사설|기고|시론|오피니언|논단|시평",
    re.IGNORECASE,
)
# Captions left in the body: people marked "(L)" and "(R)", or a closing full date.
_CAPTION_LIKE = re.compile(
    r"\((?:L|R|C|left|right|center|centre|from left|왼쪽|오른쪽|가운데)\)|"
    r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.? \d{1,2},? \d{4}\.$"
)
_KO_END = re.compile(r"(?:[다요죠음임함됨]|니다)[.!]?[\"'”’)]*$")


def _stem(word: str) -> str:
    if len(word) > 4:
        for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
                return word[: -len(suffix)] + repl
    return word


def tokens(text: str) -> list[str]:
    """Content words: English lower-cased and lightly stemmed, Korean without particles (and
    their first two syllables, which join a word's forms: "감축을", "감축하는")."""
    out = []
    for t in _TOKEN.findall(text.lower().replace("’", "'")):
        if t[0] >= "가":
            t = _KO_SUFFIX.sub("", t)
            if len(t) < 2 or t in _KO_STOP:
                continue
            out.append(t)
            if len(t) > 2:
                out.append(t[:2])
            continue
        t = t.strip("'-")
        if t.endswith("'s"):
            t = t[:-2]
        if len(t) < 2 or t in _STOP:
            continue
        out.append(_stem(t))
    return out


def _vector(counts: Counter[str], idf: dict[str, float]) -> dict[str, float]:
    vec = {t: (1.0 + math.log(c)) * idf.get(t, 1.0) for t, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
    return {t: v / norm for t, v in vec.items()}


def _cos(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def _balanced(text: str) -> bool:
    """No quotation cut in half: a sentence taken out of a longer quote does not stand."""
    if text.count('"') % 2:
        return False
    return text.count("“") == text.count("”") and text.count("‘") <= text.count("’")


def _candidate(s: Sentence, korean: bool) -> bool:
    text = s.text
    if s.is_title or s.is_heading or len(text) > 450 or len(text) < (15 if korean else 40):
        return False
    if _CAPTION_LIKE.search(text):
        return False
    if text[0] in "\"“'‘" and text.rstrip(".")[-1:] in "\"”'’":
        return False  # a bare quotation: whose words, and about what, is not in it
    if korean:
        if not _KO_END.search(text) or len(text.split()) < 4:
            return False
    elif not re.search(r"[.!\"”’)]$", text) or len(text.split()) < 6:
        return False  # cut mid-sentence, or a caption or heading
    if text.endswith("?") or text[0].islower() or text[0] in ",;:()[]-–—":
        return False
    if re.search(r"https?://|www\.|@\w+\.\w", text):
        return False
    return _balanced(text)


# "It" that stands for nothing ("It is unclear whether …", "It was the first time that …")
# opens a sentence that stands alone; "It will be deployed …" leans on the one before.
_EXPLETIVE_IT = re.compile(
    r"^It(?:'s|’s| is| was| has been| had been| will be| would be| remains| seems| appears)"
    r"(?: not)?(?: \w+){1,4}? (?:that|whether|if|how|why|when|what)\b"
)


def _dangling(text: str) -> bool:
    return bool(_DANGLING.match(text)) and not _EXPLETIVE_IT.match(text)


@dataclass(frozen=True, slots=True)
class _Scored:
    sentence: Sentence
    position: int  # among body sentences
    base: float
    issues: frozenset[str]
    title_overlap: float


def genre(doc: Doc) -> str:
    """ "official" (joint statement, fact sheet), "analysis" (op-ed, think-tank piece that
    argues a point in its own voice) or "news"."""
    head = " ".join(s.text for s in doc.sentences[:3])
    if _OFFICIAL.search(head):
        return "official"
    body = doc.body()
    commitments = sum(
        1 for s in body if _COMMITMENT.search(s.text) and not _REPORTED.search(s.text)
    )
    if commitments >= 4 and commitments >= len(body) // 4:
        return "official"
    own_voice = sum(1 for s in body if _NORMATIVE.search(s.text) and not _REPORTED.search(s.text))
    if own_voice >= THESIS_MIN or (own_voice and _OPINION.search(doc.sentences[0].text)):
        return "analysis"
    return "news"


def summarize(
    doc: Doc,
    issue_ids: Sequence[str] = (),
    max_chars: int = MAX_CHARS,
    max_sentences: int = MAX_SENTENCES,
) -> str:
    body = doc.body()
    korean = doc.language == "ko"
    cands = [s for s in body if _candidate(s, korean)]
    if not cands:
        cands = [s for s in body if len(s.text) >= 20 and not s.is_heading] or body
        if not cands:
            return ""
    kind = genre(doc)
    order = {s.index: k for k, s in enumerate(body)}
    toks = {s.index: Counter(tokens(s.text)) for s in body}
    n = max(1, len(body))
    df: Counter[str] = Counter()
    for counts in toks.values():
        df.update(counts.keys())
    idf = {t: math.log((n + 1) / (d + 1)) + 1.0 for t, d in df.items()}
    vectors = {i: _vector(counts, idf) for i, counts in toks.items() if counts}
    centroid_counts: Counter[str] = Counter()
    for counts in toks.values():
        centroid_counts.update(counts)
    centroid = _vector(centroid_counts, idf)
    title_tokens = set(tokens(doc.sentences[0].text))
    title_weight = sum(idf.get(t, 1.0) for t in title_tokens) or 1.0
    wanted = list(issue_ids[:3])
    issue_of: dict[int, set[str]] = {}
    for h in doc.hits:
        if h.issue in wanted and h.tier != "weak":
            issue_of.setdefault(h.sentence, set()).add(h.issue)
    scored: dict[int, _Scored] = {}
    for s in cands:
        vec = vectors.get(s.index, {})
        pos = order[s.index]
        overlap = sum(idf.get(t, 1.0) for t in title_tokens & set(toks[s.index])) / title_weight
        score = _cos(vec, centroid) + TITLE_WEIGHT * overlap
        score += LEAD_BONUS / (1.0 + 0.5 * pos)
        score += FIGURE_BONUS if _FIGURE.search(s.text) else 0.0
        score += ISSUE_BONUS if issue_of.get(s.index) else 0.0
        score += OUTCOME_BONUS if _OUTCOME.search(s.text) else 0.0
        if kind == "analysis" and pos >= 0.7 * len(body):
            score += CONCLUSION_BONUS
        issues = frozenset(issue_of.get(s.index, set()))
        scored[s.index] = _Scored(s, pos, score, issues, overlap)

    chosen: list[_Scored] = []
    used = 0

    def fits(c: _Scored) -> bool:
        extra = len(c.sentence.text) + (1 if chosen else 0)
        if used + extra > max_chars:
            return False
        vec = vectors.get(c.sentence.index, {})
        return all(_cos(vec, vectors.get(x.sentence.index, {})) <= DUPLICATE_COSINE for x in chosen)

    def stands(c: _Scored, picked: list[_Scored]) -> bool:
        """Stands alone, or leans on the sentence right before it, picked too."""
        if not _dangling(c.sentence.text):
            return True
        return any(x.position == c.position - 1 for x in picked)

    def take(c: _Scored) -> None:
        nonlocal used
        used += len(c.sentence.text) + (1 if chosen else 0)
        chosen.append(c)

    pool = sorted(scored.values(), key=lambda c: c.position)
    # 1. The anchor: the headline's central fact, early in the post.
    early = [c for c in pool[:ANCHOR_WINDOW] if not _dangling(c.sentence.text)] or pool[:1]
    if title_tokens:
        # News puts the headline's fact in its lead: the first sentence wins unless another
        # carries clearly more of the headline. Analysis may open with a scene instead.
        lead = early[0] if kind == "news" else None
        anchor = max(
            early,
            key=lambda c: (
                c.title_overlap
                + 0.5 * c.base
                - 0.02 * c.position
                + (LEAD_ANCHOR if c is lead else 0.0)
            ),
        )
    else:
        anchor = early[0]
    take(anchor)
    # 2. The thesis of an analysis, the commitments of an official document.
    if kind == "analysis":
        theses = [
            c
            for c in pool
            if c is not anchor
            and _NORMATIVE.search(c.sentence.text)
            and not _REPORTED.search(c.sentence.text)
            and stands(c, chosen)
            and fits(c)
        ]
        if theses:
            # The concrete recommendation ("back off its demand of $5 billion") over a
            # general one, and the last word of the argument over an early one.
            take(
                max(
                    theses,
                    key=lambda c: (
                        c.base
                        + (FIGURE_BONUS if _FIGURE.search(c.sentence.text) else 0.0)
                        + THESIS_LATE * c.position / len(body)
                    ),
                )
            )
    elif kind == "official":
        pledges = [
            c
            for c in pool
            if c not in chosen and _COMMITMENT.search(c.sentence.text) and stands(c, chosen)
        ]
        pledges.sort(key=lambda c: -(c.base + COVER_BONUS * len(c.issues)))
        for c in pledges:
            if len(chosen) >= max_sentences:
                break
            covered = set().union(*(x.issues for x in chosen))
            if (c.issues - covered or not c.issues) and fits(c):
                take(c)
    # 3. Development: central, covering the key issues not yet covered.
    while len(chosen) < max_sentences:
        covered = set().union(*(x.issues for x in chosen))

        def gain(c: _Scored, covered: set[str] = covered) -> float:
            new = c.issues - covered
            return c.base + sum(COVER_BONUS * (1.0 - 0.25 * wanted.index(i)) for i in new)

        options = [c for c in pool if c not in chosen and stands(c, chosen) and fits(c)]
        if not options:
            break
        best = max(options, key=gain)
        if len(chosen) >= 2 and gain(best) < 0.5 * anchor.base:
            break  # a third sentence only when it adds something
        take(best)
    rest = sorted(chosen[1:], key=lambda c: c.position)
    ordered = [chosen[0], *rest]
    # A sentence leaning on the one before it must follow it directly.
    for k, c in enumerate(ordered[1:], start=1):
        if _dangling(c.sentence.text) and ordered[k - 1].position != c.position - 1:
            ordered = ordered[:k]
            break
    if len(ordered) == 1 and len(anchor.sentence.text) > max_chars:
        text = anchor.sentence.text
        return text[: max_chars - 1].rsplit(" ", 1)[0] + "…"
    return " ".join(tidy(c.sentence.text) for c in ordered)


def tidy(sentence: str) -> str:
    sentence = _DATELINE.sub("", sentence)
    sentence = re.sub(r"(?<!\.)\.\.(?!\.)", ".", sentence)
    return sentence[:1].upper() + sentence[1:]
