"""The jobs `cpu.CpuPool` runs in worker processes: parse a feed, analyse an article.

A worker keeps the analysis's compiled lexicon between jobs (set once by `init_analysis`,
the pool's initializer), so a job carries only its own input and output.
"""

from __future__ import annotations

import signal

from koreapage_bot.analysis.lexicon import Lexicon, compile_lexicon
from koreapage_bot.analysis.pipeline import analyze_sync
from koreapage_bot.analysis.taxonomy import Taxonomy
from koreapage_bot.config import AnalysisConfig
from koreapage_bot.domain import Analysis, ArticleInput, ParsedFeed
from koreapage_bot.ingest.parse import parse_feed_sync

_analysis: tuple[AnalysisConfig, Lexicon] | None = None


def init_analysis(config: AnalysisConfig, taxonomy: Taxonomy) -> None:
    """The pool's initializer: what every analysis job of this worker uses. Ctrl-C at the
    terminal reaches the whole process group: the bot shuts its workers down itself, so a
    worker ignores it rather than die mid-job with a traceback."""
    global _analysis
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _analysis = (config, compile_lexicon(taxonomy))


def analyze_job(article: ArticleInput, gate: bool) -> tuple[Analysis, str]:
    """(the analysis, the title it read) of one article, as `analyze_sync` makes it."""
    if _analysis is None:
        raise RuntimeError("worker started without init_analysis")
    config, lexicon = _analysis
    prepared = analyze_sync(article, config, lexicon, gate)
    return prepared.analysis, prepared.doc.sentences[0].text


def parse_job(body: bytes, base_url: str | None, content_type: str | None) -> ParsedFeed:
    """A feed's entries from its bytes (raises `NotAFeed`)."""
    return parse_feed_sync(body, base_url, content_type)
