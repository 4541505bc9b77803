"""The keyword policy, tested on the labelled corpus and on each normalisation rule."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from optout.streams.rules.keywords import (
    RULESET_VERSION,
    Intent,
    KeywordSet,
    classify_text,
    normalise,
)

# The labelled examples of the keyword policy: intent, text, and why. The training part is what
# the rules were written against; the held-out part was written before them and is not tuned on.
# A literal \\n in a text stands for a line break; notes of French and Spanish texts say fr: or es:.
DATA = Path(__file__).parents[1] / "data"
TRAINING = DATA / "keywords.tsv"
HELD_OUT = DATA / "keywords_heldout.tsv"
# The bar for the held-out split (issue 26), and the training part's.
MIN_ACCURACY = 0.97
MIN_OPT_OUT_RECALL = 0.98


def corpus_rows(path: Path = TRAINING) -> list[tuple[str, str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            intent, text, note = line.split("\t")
            rows.append((intent, text.replace("\\n", "\n"), note))
    return rows


def _language(note: str) -> str:
    return note[:2] if note[:4] in ("fr: ", "es: ") else "en"


def corpus_figures(path: Path) -> dict[str, object]:
    """Accuracy, opt-out recall and the false opt-outs of the classifier on one split."""
    rows = [(Intent(i.upper()), classify_text(t).intent, t, n) for i, t, n in corpus_rows(path)]
    opt_outs = [r for r in rows if r[0] is Intent.OPT_OUT]
    return {
        "texts": len(rows),
        "by_language": dict(Counter(_language(n) for *_, n in rows)),
        "accuracy": sum(want is got for want, got, *_ in rows) / len(rows),
        "opt_out_recall": sum(got is Intent.OPT_OUT for _, got, *_ in opt_outs) / len(opt_outs),
        "false_opt_outs": [t for want, got, t, _ in rows if got is Intent.OPT_OUT != want],
        "misses": [(want.value, got.value, t) for want, got, t, _ in rows if want is not got],
    }


def test_the_corpus_is_there() -> None:
    assert len(corpus_rows(TRAINING)) > 50
    assert len(corpus_rows(HELD_OUT)) >= 150
    assert {_language(n) for *_, n in corpus_rows(HELD_OUT)} == {"en", "fr", "es"}


@pytest.mark.parametrize(("intent", "text", "note"), corpus_rows(TRAINING))
def test_labelled_corpus(intent: str, text: str, note: str) -> None:
    assert classify_text(text).intent == Intent(intent.upper()), note


@pytest.mark.parametrize("split", [TRAINING, HELD_OUT], ids=["training", "held-out"])
def test_the_corpus_figures_and_no_false_opt_out(split: Path) -> None:
    """Accuracy, opt-out recall and false opt-outs, printed per split (pytest -s shows them)."""
    figures = corpus_figures(split)
    print(
        f"\n{split.name}: {figures['texts']} texts {figures['by_language']}, "
        f"accuracy {figures['accuracy']:.3f}, opt-out recall {figures['opt_out_recall']:.3f}, "
        f"false opt-outs {len(figures['false_opt_outs'])}"  # type: ignore[arg-type]
    )
    for want, got, text in figures["misses"]:  # type: ignore[attr-defined]
        print(f"  want {want}, got {got}: {text!r}")
    assert figures["false_opt_outs"] == []
    assert figures["accuracy"] >= MIN_ACCURACY  # type: ignore[operator]
    assert figures["opt_out_recall"] >= MIN_OPT_OUT_RECALL  # type: ignore[operator]


@pytest.mark.parametrize(
    "text",
    ["never stop sending me the deals", "do NOT stop these alerts", "Don't stop the music"],
)
def test_a_negated_opt_out_word_is_no_opt_out_and_needs_no_review(text: str) -> None:
    result = classify_text(text)
    assert result.intent is Intent.NONE and not result.review


@pytest.mark.parametrize(
    "text",
    [
        "No. Stop.",
        "NO!! STOP!!",
        "Why not? Stop",
        "no, cancel",
        "no - stop",
        "Non. Arrêt",
        "No. Alto",
    ],
)
def test_a_negation_reaches_no_further_than_its_clause(text: str) -> None:
    assert classify_text(text).intent is Intent.OPT_OUT


@pytest.mark.parametrize(
    "text", ["Thanks. Never stop sending the deals", "no stop", "Great deals! Don't stop"]
)
def test_a_negation_among_other_sentences_or_after_a_bare_no_goes_to_review(text: str) -> None:
    result = classify_text(text)
    assert (result.intent, result.rule, result.review) == (
        Intent.NONE,
        "negated_revocation",
        True,
    )


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
        ("ayuda por favor", Intent.HELP, "AYUDA", "es", "keyword_with_filler"),  # issue 26
        ("stop please", Intent.OPT_OUT, "STOP", "en", "keyword_with_filler"),
        ("STOP HELP", Intent.OPT_OUT, "STOP", "en", "keyword_with_filler"),
        ("help start", Intent.NONE, None, "en", "no_keyword"),
        ("yes", Intent.OPT_IN, "YES", "en", "yes_if_blocked"),
        ("yes please", Intent.NONE, None, "en", "no_keyword"),
        (
            "remove me from this list",
            Intent.OPT_OUT,
            "REMOVE ME FROM THIS LIST",
            "en",
            "revocation_request",
        ),
        ("detener", Intent.OPT_OUT, "DETENER", "es", "exact_keyword"),
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


@pytest.mark.parametrize(
    ("text", "intent", "rule"),
    [
        ("S T O P", Intent.OPT_OUT, "exact_keyword"),  # spaced-out letters
        ("s.t.o.p", Intent.OPT_OUT, "exact_keyword"),
        ("ST0P", Intent.OPT_OUT, "exact_keyword"),  # zero for O
        ("STOP STOP STOP", Intent.OPT_OUT, "keyword_with_filler"),  # repeated
        ("stop!!! 🛑🛑", Intent.OPT_OUT, "exact_keyword"),
        ("Ｕｎｓｕｂｓｃｒｉｂｅ", Intent.OPT_OUT, "exact_keyword"),  # fullwidth
        ("\ufeffSTOP", Intent.OPT_OUT, "exact_keyword"),  # byte-order mark
        ("ΗΕLΡ", Intent.HELP, "exact_keyword"),  # Greek Eta, Epsilon, Rho
        ("Arrêt svp", Intent.OPT_OUT, "keyword_with_filler"),
        ("ALTO por favor", Intent.OPT_OUT, "keyword_with_filler"),  # Spanish filler (issue 26)
        ("don't text me", Intent.OPT_OUT, "revocation_request"),
        ("Do not contact me again", Intent.OPT_OUT, "revocation_request"),
        ("take me off your list", Intent.OPT_OUT, "revocation_request"),
        ("I'd rather not get these anymore", Intent.OPT_OUT, "revocation_phrase"),
        ("stop sending", Intent.OPT_OUT, "keyword_with_filler"),
        ("Unstop", Intent.OPT_IN, "exact_keyword"),
        ("resume please", Intent.OPT_IN, "keyword_with_filler"),
        ("HELP!", Intent.HELP, "exact_keyword"),
        ("info please", Intent.HELP, "keyword_with_filler"),
    ],
)
def test_rules(text: str, intent: Intent, rule: str) -> None:
    result = classify_text(text)
    assert (result.intent, result.rule) == (intent, rule)


@pytest.mark.parametrize(
    "text",
    [
        "I'll stop by the store later",
        "leave me alone",
        "Take me off it",  # off what?
        "Remove me from this",
        "not interested",
        "wrong number",
        "This is spam",
    ],
)
def test_unclear_revocation_is_forwarded_for_review(text: str) -> None:
    result = classify_text(text)
    assert result.intent is Intent.NONE and result.review and result.rule == "unclear_revocation"


@pytest.mark.parametrize(
    "text",
    [
        "When does the sale end?",
        "Can we cancel the Tuesday appointment and move it to Friday?",
        "Stopwatch for sale",
        "Yes I will be there",
        "Thanks! 👍",
        "",
        "Please cancel my appointment",  # CANCEL and CANCELAR alike: not strong words
        "Cancelar mi cita",
        "Annuler mon rendez-vous de demain",
        "take it off the bill",
    ],
)
def test_ordinary_texts_are_not_flagged(text: str) -> None:
    result = classify_text(text)
    assert result.intent is Intent.NONE and not result.review


def test_the_required_keywords_cannot_be_removed() -> None:
    keywords = KeywordSet.build(removed=["STOP", "START", "HELP", "END"])
    assert keywords.intents["STOP"] is Intent.OPT_OUT
    assert keywords.intents["START"] is Intent.OPT_IN
    assert keywords.intents["HELP"] is Intent.HELP
    assert "END" not in keywords.intents


def test_an_extra_keyword_that_clashes_is_an_opt_out() -> None:
    keywords = KeywordSet.build(extra_opt_in=["OK"], extra_opt_out=["ok"])
    assert classify_text("OK", keywords).intent is Intent.OPT_OUT


@pytest.mark.parametrize(
    ("text", "rule", "stripped"),
    [
        ("STOP\n\nSent from my iPhone", "exact_keyword", ("Sent from my iPhone",)),
        ("Stop, thanks John", "exact_keyword", ("thanks John",)),
        ("Hola, alto por favor. Gracias", "keyword_with_filler", ("Hola", "Gracias")),
        ("stop\n-- \nMaria\nAcme", "exact_keyword", ("-- \nMaria\nAcme",)),
        ("please remove my number from your list", "revocation_request", ()),
        ("Hi STOP, thanks", "keyword_with_filler", ("thanks",)),  # a keyword is never a name
        ("Bonjour Arrêt, merci", "keyword_with_filler", ("merci",)),
        ("Hola Alto, gracias", "keyword_with_filler", ("gracias",)),
    ],
)
def test_what_the_phone_adds_is_stripped_and_kept_as_evidence(
    text: str, rule: str, stripped: tuple[str, ...]
) -> None:
    result = classify_text(text)
    assert (result.intent, result.rule, result.stripped) == (Intent.OPT_OUT, rule, stripped)


@pytest.mark.parametrize(
    "text",
    [
        "Please remove me from the email list, but keep sending texts",
        "Unsubscribe me from the newsletter",
        "Take me off speaker please",
        "Get me off this flight and onto the 7am one",
        "Remove me as the authorized user",
        "Please remove my number 555 123 4567 from the account and add my wife's",
        "Unsubscribe my husband from the list, he passed away",
        "Retirez-moi du compte de mon mari",
        "Sáquenme de este contrato",
    ],
)
def test_a_request_about_something_else_is_a_review_not_an_opt_out(text: str) -> None:
    result = classify_text(text)
    assert (result.intent, result.rule, result.review) == (
        Intent.NONE,
        "request_about_something_else",
        True,
    )


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("🛑", Intent.OPT_OUT),
        ("🛑 🛑", Intent.OPT_OUT),
        ("⛔️\n🚫", Intent.OPT_OUT),
        ("🛑 ok", Intent.NONE),
        ("🛑👍", Intent.NONE),
        (" \ufe0f ", Intent.NONE),
    ],
)
def test_stop_symbols_sent_alone(text: str, intent: Intent) -> None:
    assert classify_text(text).intent is intent


def test_bench_classify_keeps_meets_target_for_the_mix() -> None:
    from optout.streams.bench.classify import CLASSIFY_TARGET_PER_SECOND, bench_classify

    figures = bench_classify(200, rounds=1)
    mix, ordinary = figures["classifications_per_second"], figures["ordinary_per_second"]
    assert figures["meets_target"] is (mix >= CLASSIFY_TARGET_PER_SECOND)  # type: ignore[operator]
    assert figures["ordinary_meets_target"] is (ordinary >= CLASSIFY_TARGET_PER_SECOND)  # type: ignore[operator]


def test_classify_explain_prints_rule_deciding_part_and_what_was_stripped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from optout.streams.cli.main import main

    assert main(["classify", "--explain", "--text", "Stop, thanks John\nSent from my iPhone"]) == 0
    out = capsys.readouterr().out
    assert f"rule:        exact_keyword (ruleset {RULESET_VERSION})" in out
    assert "decided by:  STOP" in out
    assert "stripped:    'Sent from my iPhone'; 'thanks John'" in out


def test_classify_json_carries_the_ruleset(capsys: pytest.CaptureFixture[str]) -> None:
    from optout.streams.cli.main import main

    assert main(["classify", "--text", "no más mensajes, gracias"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["intent"] == "opt_out" and printed["ruleset"] == RULESET_VERSION
    assert printed["language"] == "es" and printed["rule"] == "revocation_request"


def test_the_cue_gate_never_hides_a_decision() -> None:
    """Ordinary texts leave after one set intersection: that gate must not change any answer."""

    class Everything(frozenset[str]):
        def isdisjoint(self, other: object) -> bool:
            return False

    ungated = KeywordSet.build()
    object.__setattr__(ungated, "triggers", Everything())
    texts = [t for path in (TRAINING, HELD_OUT) for _, t, _ in corpus_rows(path) if normalise(t)]
    texts += ["Do you have it in blue?", "No problem", "Plus tard", "No puedo hoy", "ne pas"]

    def decision(text: str, keywords: KeywordSet) -> tuple[Intent, bool]:
        result = classify_text(text, keywords)
        return result.intent, result.review

    gated = KeywordSet.build()
    assert [decision(t, gated) for t in texts] == [decision(t, ungated) for t in texts]
