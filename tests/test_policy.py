"""The keyword policy, tested on the labelled corpus and on each normalisation rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from optout.streams.policy import Intent, classify_text, normalise

# A copy of shared/corpus/keywords.tsv, the labelled examples of the keyword policy.
CORPUS = Path(__file__).parent / "data" / "keywords.tsv"


def corpus_rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            intent, text, note = line.split("\t")
            rows.append((intent, text, note))
    return rows


def test_the_corpus_is_there() -> None:
    assert len(corpus_rows()) > 50


@pytest.mark.parametrize(("intent", "text", "note"), corpus_rows())
def test_labelled_corpus(intent: str, text: str, note: str) -> None:
    assert classify_text(text).intent == Intent(intent.upper()), note


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("  Stop!! ", "STOP"),
        ("Arrêt", "ARRET"),
        ("ＳＴＯＰ", "STOP"),  # fullwidth
        ("ЅТОР", "STOP"),  # Cyrillic
        ("ΗΕΛΡ", "HE P"),  # Greek lambda has no Latin twin: no false HELP
        ("S\u200bT\u200dO\ufeffP", "STOP"),  # zero-width and byte-order marks
        ("“stop”", "STOP"),
        ("🛑 stop 🛑", "STOP"),
        ("opt-out", "OPT OUT"),
    ],
)
def test_normalisation(text: str, normalised: str) -> None:
    assert normalise(text) == normalised


@pytest.mark.parametrize(
    ("text", "intent", "keyword", "language", "rule"),
    [
        ("ARRET", Intent.OPT_OUT, "ARRET", "fr", "exact_keyword"),
        ("aide", Intent.HELP, "AIDE", "fr", "exact_keyword"),
        ("Cancelar", Intent.OPT_OUT, "CANCELAR", "es", "exact_keyword"),
        ("ayuda por favor", Intent.NONE, None, "en", "no_keyword"),
        ("stop please", Intent.OPT_OUT, "STOP", "en", "keyword_with_filler"),
        ("STOP HELP", Intent.OPT_OUT, "STOP", "en", "keyword_with_filler"),
        ("help start", Intent.NONE, None, "en", "no_keyword"),
        ("yes", Intent.OPT_IN, "YES", "en", "yes_if_blocked"),
        ("yes please", Intent.NONE, None, "en", "no_keyword"),
        ("remove me from this list", Intent.OPT_OUT, "REMOVE ME", "en", "revocation_phrase"),
    ],
)
def test_classification_details(
    text: str, intent: Intent, keyword: str | None, language: str, rule: str
) -> None:
    result = classify_text(text)
    assert (result.intent, result.keyword, result.language, result.rule) == (
        intent,
        keyword,
        language,
        rule,
    )
