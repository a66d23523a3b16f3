"""The offline analyzer: extract, normalise, clean, decide relevance, find key issues, author,
summary, in the post's language.

`OfflineAnalyzer` implements `ports.Analyzer`. The CPU work runs in a worker process (`cpu`)
or thread; the only I/O is the optional LLM summarizer, which falls back to the extractive
summary on any failure.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from koreapage_bot.analysis.authors import find_author
from koreapage_bot.analysis.extract import extract_article, looks_like_page, metadata_author
from koreapage_bot.analysis.issues import key_issues
from koreapage_bot.analysis.lexicon import Doc, Lexicon, build_doc, compile_lexicon
from koreapage_bot.analysis.llm import LlmSummarizer
from koreapage_bot.analysis.noise import Cleaned, clean
from koreapage_bot.analysis.normalize import Normalized, clean_title, normalize_page
from koreapage_bot.analysis.relevance import explain, general_alliance_story, score_relevance
from koreapage_bot.analysis.summarize import summarize
from koreapage_bot.analysis.taxonomy import Taxonomy, load_taxonomy
from koreapage_bot.analysis.text import detect_language, html_to_text, split_sentences
from koreapage_bot.config import AnalysisConfig
from koreapage_bot.domain import Analysis, ArticleInput

if TYPE_CHECKING:
    from koreapage_bot.cpu import CpuPool

log = logging.getLogger(__name__)


SUMMARY_CHARS = 600


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything the analysis read, for the LLM step and for tests."""

    analysis: Analysis
    doc: Doc
    cleaned: Cleaned
    normalized: Normalized


def _body_and_meta(article: ArticleInput, extract_pages: bool) -> tuple[str, str | None, str]:
    """(raw text, page-metadata author, title) from whatever the article carries."""
    title = article.title or ""
    page_author: str | None = None
    text = article.text or ""
    if article.html:
        extracted = None
        if extract_pages and looks_like_page(article.html):
            extracted = extract_article(article.html, article.url)
        if extracted is not None:
            page_author = extracted.author
            title = title or extracted.title or ""
            if len(extracted.text) >= len(text):
                text = extracted.text
        elif not text:
            text = html_to_text(article.html)
        if page_author is None and looks_like_page(article.html):
            page_author = metadata_author(article.html)
    return text, page_author, title


def build_blocks(cleaned: Cleaned, skip_first: bool = False) -> list[tuple[str, bool, int]]:
    blocks: list[tuple[str, bool, int]] = []
    for j, para in enumerate(cleaned.body):
        if skip_first and j == 0:
            continue
        if j in cleaned.headings:
            blocks.append((para, True, j))
        else:
            blocks.extend((s, False, j) for s in split_sentences(para))
    return blocks


def analyze_sync(
    article: ArticleInput, config: AnalysisConfig, lexicon: Lexicon, gate: bool = False
) -> Prepared:
    """The whole analysis. With `gate` (the ingest path), the relevance verdict comes first
    and a post it rejects gets no summary: nothing shows one (it is archived, never a brief),
    and the summary is a fifth of the analysis's time. The verdict, score, key issues, author,
    text and language are the same either way."""
    raw, page_author, title = _body_and_meta(article, extract_pages=True)
    normalized = normalize_page(raw, title)
    title = clean_title(title)
    language = detect_language(f"{title}\n{normalized.text}")
    cleaned = clean(normalized.text, title)
    # No title given: a heading line that opens the body is the title.
    inferred = not title.strip() and bool(cleaned.body) and 0 in cleaned.headings
    if inferred:
        title = cleaned.body[0]
    doc = build_doc(title, build_blocks(cleaned, skip_first=inferred), lexicon, language)
    doc.year = article.published.year if article.published else None
    rel = score_relevance(doc, lexicon)
    issues = key_issues(doc, lexicon)
    subject = {m.id for m in lexicon.issues if m.kind == "alliance" or m.evidence}
    named_issue = any(k.id in subject for k in issues)
    general = not named_issue and general_alliance_story(doc, rel)
    # A brief names the alliance issue it is about, or says it is a general alliance story.
    relevant = rel.score >= config.threshold and (named_issue or general)
    author = find_author(
        entry_author=article.author,
        page_author=page_author,
        cleaned=cleaned,
        url=article.url,
        feed_author=article.feed_author,
        text_bylines=normalized.bylines,
        maybe_bylines=normalized.maybe_bylines,
    )
    summary = (
        summarize(doc, [i.id for i in issues], max_chars=SUMMARY_CHARS)
        if relevant or not gate
        else ""
    )
    analysis = Analysis(
        relevant=relevant,
        relevance=rel.score,
        key_issues=issues,
        author=author,
        summary=summary,
        why=explain(doc, rel, issues, relevant, general),
        text=cleaned.text,
        language=language,
    )
    return Prepared(analysis, doc, cleaned, normalized)


class OfflineAnalyzer:
    """`Analyzer` that needs no network; an LLM summary is used only when configured."""

    def __init__(
        self,
        config: AnalysisConfig | None = None,
        taxonomy: Taxonomy | None = None,
        cpu: CpuPool | None = None,
        *,
        gate: bool = False,
    ) -> None:
        """`taxonomy`: the key issues, already loaded (else `config.issues_file`, else the
        packaged default). `cpu`: worker processes set up with this config and taxonomy
        (`workers.init_analysis`); None: a thread of this process. `gate`: posts that are
        not relevant get no summary (the ingest path; `analyze` shows everything)."""
        self.gate = gate
        self.config = config or AnalysisConfig()
        self.taxonomy = taxonomy or load_taxonomy(self.config.issues_file)
        self._compiled: Lexicon | None = None
        self._cpu = cpu
        llm = self.config.llm
        self._llm = LlmSummarizer(llm) if llm.enabled else None

    @property
    def _lexicon(self) -> Lexicon:
        # Compiled on first use: with worker processes analysing, this process never needs
        # it.
        if self._compiled is None:
            self._compiled = compile_lexicon(self.taxonomy)
        return self._compiled

    async def __aenter__(self) -> OfflineAnalyzer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._llm is not None:
            await self._llm.aclose()

    def analyze_now(self, article: ArticleInput) -> Analysis:
        """Synchronous analysis without the LLM step (benchmarks, scripts)."""
        return analyze_sync(article, self.config, self._lexicon).analysis

    def _analyze_here(self, article: ArticleInput) -> tuple[Analysis, str]:
        prepared = analyze_sync(article, self.config, self._lexicon, self.gate)
        return prepared.analysis, prepared.doc.sentences[0].text

    async def analyze(self, article: ArticleInput) -> Analysis:
        if self._cpu is None:
            analysis, title = await asyncio.to_thread(self._analyze_here, article)
        else:
            from koreapage_bot.workers import analyze_job

            analysis, title = await self._cpu.run(
                analyze_job, article, self.gate, inline=lambda: self._analyze_here(article)
            )
        if self._llm is None or not analysis.relevant or not analysis.text:
            return analysis
        answer = await self._llm.summarize(
            title=title,
            text=analysis.text,
            issues=[i.label for i in analysis.key_issues],
            language=analysis.language,
        )
        if answer is None:
            return analysis
        summary = answer.text(analysis.language)
        return Analysis(
            relevant=analysis.relevant,
            relevance=analysis.relevance,
            key_issues=analysis.key_issues,
            author=analysis.author,
            summary=summary,
            why=analysis.why,
            text=analysis.text,
            language=analysis.language,
        )
