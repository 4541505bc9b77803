"""The keyword policy: which words mean opt-out, opt-in and help, and how text is normalised.

A text that carries no keyword and no revocation cue (the vast majority) leaves after one set
intersection. The others are read in two steps: first what the phone or habit added around
the request is cut off (signatures, quoted replies, greetings, sign-offs and names:
`message_body.split_body`), then the request itself is read, with these rules in order:

- exact_keyword: the whole request is one keyword ("Stop.", "ＳＴＯＰ", "opt-out", "S T O P");
- keyword_with_filler: keywords of one kind plus polite, greeting or target words only, in
  English, French or Spanish ("stop please", "Arrêt svp", "alto por favor", "STOP texting me");
  an opt-out keyword wins over others ("STOP HELP"); any other word makes it a sentence;
- stop_symbol: a stop sign or no-entry symbol sent alone ("🛑", "⛔");
- negated_revocation: an opt-out word negated within its clause ("never stop sending me the
  deals"; "No. Stop." is no negation): not an opt-out. Alone it needs no review; in a text of
  several clauses ("Thanks. Don't stop") or after a bare English "no" ("no stop") it is
  forwarded with `review` set;
- revocation_request: a request recognised by its shape, not by its wording: a request verb or
  a negated wish, and an object that is the messages or the person's number ("please remove my
  number from your list", "I no longer wish to receive these texts", "ne m'envoyez plus de
  textos", "dejen de enviarme mensajes", "I revoke my consent", "I want out"). Requests about
  one kind of message ("stop sending me promotions") are opt-outs too, until kinds have their
  own consent. A removal must be from a list or the messages (the head noun of what follows
  "from", "off", "de"), or from nothing named with nothing else in its clause ("remove me
  now"). When it is about something else than the texts ("remove me from the email list", "get
  me off this flight", "remove me as the authorized user", "unsubscribe my husband") it is
  request_about_something_else, and when it only points ("take me off it") unclear_revocation:
  no opt-out, forwarded for review;
- keyword_at_end: a keyword alone in the last sentence ("How do I pay? HELP"), or an opt-out
  keyword followed only by refusals ("stop. not interested");
- opt_in_request and help_request: an opt-in or a help request in a short sentence ("start my
  texts again", "sign me back up", "I need help", "necesito ayuda");
- revocation_phrase: a few idioms that have no such shape ("I'd rather not get these");
- unclear_revocation: not an opt-out, but a revocation word is there ("can you stop?",
  "leave me alone"): forwarded with `review` set so the customer can look.
YES is an opt-in only for a sender who is blocked; the classifier reports it as `yes_if_blocked`
and decide() settles it with the block list.

Pure and free of I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from optout.streams.rules.message_body import split_body

__all__ = [
    "ASCII_WORDS",
    "BILINGUAL_IN_CANADA",
    "COMBINING_MARKS",
    "CUE_WORDS",
    "Classification",
    "DEFAULT_HELP",
    "DEFAULT_KEYWORDS",
    "DEFAULT_OPT_IN",
    "DEFAULT_OPT_OUT",
    "FILLER_WORDS",
    "Intent",
    "KEYWORD_LANGUAGE",
    "KeywordSet",
    "NEGATED",
    "NEGATED_REVOCATION",
    "NOT_A_KEYWORD",
    "OPT_OUT_TARGET_WORDS",
    "OTHER_CHANNELS",
    "PROTECTED_KEYWORDS",
    "REVOCATION_PHRASES",
    "REVOCATION_SHAPES",
    "RULESET_VERSION",
    "STOP_SYMBOLS",
    "STRONG_REVOCATION_WORDS",
    "UNCLEAR",
    "UNCLEAR_REVOCATION",
    "UNCLEAR_REVOCATION_PHRASES",
    "UNICODE_CLEANUP",
    "YES",
    "classify_text",
    "has_cue",
    "normalise",
]


# The keyword policy's version, recorded with every change it makes (evidence for disputes).
RULESET_VERSION = "2026-12-04.2"


class Intent(StrEnum):
    OPT_OUT = "OPT_OUT"
    OPT_IN = "OPT_IN"
    HELP = "HELP"
    NONE = "NONE"


DEFAULT_OPT_OUT = (
    "STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "UNSUB", "CANCEL", "END", "QUIT", "REVOKE",
    "OPTOUT", "OPT OUT", "REMOVE", "ARRET", "ARRETE", "ARRETEZ", "ARRETER", "ALTO", "CANCELAR",
    "PARAR", "BAJA", "DETENER", "DESUSCRIBIR",
)  # fmt: skip
DEFAULT_OPT_IN = ("START", "UNSTOP", "RESUME")
DEFAULT_HELP = ("HELP", "INFO", "AIDE", "AYUDA")
# Carriers and the CTIA require these three to work on every number.
PROTECTED_KEYWORDS = frozenset({"STOP", "START", "HELP"})
YES = "YES"

KEYWORD_LANGUAGE = {
    "ARRET": "fr", "ARRETE": "fr", "ARRETEZ": "fr", "ARRETER": "fr", "AIDE": "fr",
    "ALTO": "es", "CANCELAR": "es", "PARAR": "es", "BAJA": "es", "AYUDA": "es", "DETENER": "es",
    "DESUSCRIBIR": "es",
}  # fmt: skip
BILINGUAL_IN_CANADA = frozenset({"INFO"})

# Politeness, greetings and thanks in the three languages: "alto por favor", "Arrêt svp".
_FILLER_PHRASES = (
    "S IL VOUS PLAIT", "S IL TE PLAIT", "POR FAVOR", "THANK YOU", "MERCI BEAUCOUP",
    "MUCHAS GRACIAS", "GOOD MORNING", "GOOD AFTERNOON", "GOOD EVENING", "BONNE JOURNEE",
    "BONNE SOIREE", "BUENOS DIAS", "BUENAS TARDES", "BUENAS NOCHES",
)  # fmt: skip
FILLER_PHRASES = re.compile(r"\b(?:" + "|".join(_FILLER_PHRASES) + r")\b")
_FILLER_PHRASE_WORDS = frozenset(w for phrase in _FILLER_PHRASES for w in phrase.split())
FILLER_WORDS = frozenset(
    {"PLEASE", "PLS", "PLZ", "THANKS", "THANK", "THX", "TY", "NOW", "OK", "ME", "KINDLY", "HI",
     "HELLO", "HEY", "MERCI", "SVP", "STP", "BONJOUR", "BONSOIR", "SALUT", "ALLO", "GRACIAS",
     "HOLA", "BUENAS", "YA", "FAVOR"}
)  # fmt: skip
# Words that only say what to stop: "stop sending me these messages".
OPT_OUT_TARGET_WORDS = frozenset(
    {"TEXTING", "SENDING", "MESSAGING", "TEXT", "TEXTS", "MESSAGE", "MESSAGES", "MSGS", "SMS",
     "TXT", "TXTS", "TXTING", "THESE", "THIS", "THEM", "ANY", "MORE", "ALL", "IT"}
)  # fmt: skip


def _alternatives(*words: str) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


# What a request is about: the messages, or one kind of them (promotions count as messages until
# kinds have their own consent).
_MESSAGE_NOUNS = _alternatives(
    "TEXT", "TEXTS", "TEXT MESSAGES", "MESSAGE", "MESSAGES", "MSG", "MSGS", "SMS", "TXT", "TXTS",
    "NOTIFICATIONS",
    "ALERTS", "REMINDERS", "UPDATES", "PROMO", "PROMOS", "PROMOTIONS", "ADS", "ADVERTS",
    "ADVERTISING", "ADVERTISEMENTS", "OFFERS", "MARKETING",
    "TEXTOS", "TEXTES", "ALERTES", "PUBLICITES", "PUBS", "OFFRES",
    "MENSAJES", "MENSAJE", "MENSAJITOS", "PROMOCIONES", "PUBLICIDAD", "ANUNCIOS", "ALERTAS",
    "NOTIFICACIONES", "OFERTAS", "RECORDATORIOS",
)  # fmt: skip
_MESSAGE_WORDS = frozenset(w for n in _MESSAGE_NOUNS.split("|") for w in n.split())
_DETERMINERS = _alternatives(
    "THE", "THESE", "THOSE", "YOUR", "ANY", "MORE", "ALL", "OF", "SUCH", "MARKETING", "PROMO",
    "PROMOTIONAL", "SALES", "TEXT", "SMS", "DE", "D", "DES", "LES", "VOS", "TES", "CES", "LOS",
    "LAS", "SUS", "TUS", "MAS", "ESOS", "ESTOS", "ESTAS", "TODOS", "TOUS",
)  # fmt: skip
MESSAGES_OBJECT = rf"(?:(?:{_DETERMINERS}) )*(?:{_MESSAGE_NOUNS})\b"
# The person or their number: "me", "my number", "this number", "555 123 4567".
_PERSON = (
    r"(?:ME|US|MOI|(?:MY|THIS|MON|CE|MI|ESTE) (?:CELL |MOBILE |PHONE |CELLPHONE )?"
    r"(?:NUMBER|PHONE|CELL|NUMERO)(?: (?:DE TELEPHONE|DE TELEFONO|DE CELULAR))?|\d[\d ]{5,}\d)"
)
# What may follow "from", "off" or "de" in a removal: a list or the messages.
_LIST_WORDS = frozenset(
    {"LIST", "LISTS", "CONTACTS", "DATABASE", "SYSTEM", "RECORDS", "LISTE", "LISTES", "LISTA",
     "LISTAS", "CONTACTOS", "REGISTRO", "FICHIER", "BASE", "SUBSCRIPTION", "SUBSCRIBERS",
     "PROGRAM", "PROGRAMME", "PROGRAMA", "TEXTING", "TXTING", "MESSAGING", "RECEIVING", "GETTING"}
) | _MESSAGE_WORDS  # fmt: skip
# What may stand before that noun ("from your marketing list", "de votre liste") and after it
# ("from your list immediately please", "de su lista de envío").
_NOUNS_BEFORE_LIST = frozenset(
    {"FUTURE", "MAILING", "MARKETING", "PROMOTIONAL", "PROMO", "SALES", "CONTACT", "CALL",
     "SUBSCRIBER", "DISTRIBUTION", "AUTOMATED", "COMPANY", "STORE"}
)  # fmt: skip
_BEFORE_LIST = _NOUNS_BEFORE_LIST | frozenset(
    {"THE", "THIS", "THESE", "THAT", "THOSE", "YOUR", "UR", "YOU", "U", "GUYS", "OUR", "MY", "ALL",
     "ANY", "EVERY", "OF", "S", "VOTRE", "VOS", "LA", "LE", "LES", "L", "CE", "CETTE", "CES", "TA",
     "TES", "TON", "SA", "SON", "SES", "NOTRE", "SU", "SUS", "EL", "LOS", "LAS", "ESTA", "ESTE",
     "ESTOS", "ESTAS", "TU", "TUS", "NUESTRA", "DE", "D"}
)  # fmt: skip
_AFTER_LIST = frozenset(
    {"ENVOI", "DIFFUSION", "ENVIO", "DIFUSION", "DISTRIBUCION", "DATOS", "DONNEES", "CUSTOMERS",
     "CLIENTS", "CLIENTES", "ABONNES", "SUSCRIPTORES", "NUMBERS", "NUMEROS"}
)  # fmt: skip
# Channels and things other than the texts: a removal from one of them is not an opt-out.
OTHER_CHANNELS = frozenset(
    {"EMAIL", "EMAILS", "MAIL", "MAILS", "NEWSLETTER", "NEWSLETTERS", "CATALOG", "CATALOGUE",
     "WAITLIST", "WAITING", "COURRIEL", "COURRIELS", "INFOLETTRE", "CORREO", "CORREOS",
     "BOLETIN", "CATALOGO", "SPEAKER", "GROUP", "CHAT", "ORDER", "CART"}
)  # fmt: skip
_REMOVED_FROM = (
    r"(?: (?:FROM|OFF OF|OFF|OUT OF|TO|FOR|DE LA|DE LOS|DE LAS|DES|DU|DEL|DE|AU|AUX|A LA|AL|A)"
    r"(?P<what>(?: \w+){1,4}))?"
)

# The verbs of the shapes below, by what they do. Every shape needs one of them or a message
# noun, so they are cues too (CUE_WORDS).
_STOP_EN = ("STOP", "QUIT", "END", "CEASE", "HALT")
_SENDING_EN = (
    "TEXTING", "TXTING", "MESSAGING", "SENDING", "CONTACTING", "CALLING", "SPAMMING", "RECEIVING",
    "GETTING",
)  # fmt: skip
_CONTACT_EN = ("TEXT", "TXT", "MESSAGE", "CONTACT", "CALL", "SMS", "SPAM")
_STOP_FR = ("ARRETEZ", "ARRETE", "ARRETER", "ARRETES", "CESSEZ", "CESSER")
_CONTACT_FR = ("ENVOYER", "ECRIRE", "TEXTER", "CONTACTER", "APPELER", "SPAMMER", "HARCELER")
_CONTACT_FR_CONJUGATED = (
    "ENVOYEZ", "ECRIVEZ", "TEXTEZ", "CONTACTEZ", "APPELEZ", "ENVOIE", "ECRIS", "ENVOIS",
)  # fmt: skip
_STOP_ES = ("DEJEN", "DEJA", "DEJE", "DEJAR", "PAREN", "PARE", "PARAR", "DETENGAN", "DETENGA")
_CONTACT_ES = ("ENVIAR", "MANDAR", "ESCRIBIR", "CONTACTAR", "TEXTEAR", "LLAMAR")
# The infinitive with the person attached: "(favor de) no enviarme más mensajes".
_CONTACT_ES_ME = tuple(verb + person for verb in _CONTACT_ES for person in ("ME", "NOS"))
_CONTACT_ES_CONJUGATED = (
    "ENVIEN", "MANDEN", "ESCRIBAN", "CONTACTEN", "LLAMEN", "TEXTEEN", "ENVIES", "MANDES",
    "ESCRIBAS",
)  # fmt: skip
_REMOVE_EN = ("REMOVE", "DELETE", "ERASE", "LOSE")
_TAKE_OFF_EN = ("TAKE", "GET")  # not "drop me off", "put me off"
_REMOVED_EN = ("REMOVED", "DELETED", "TAKEN", "UNSUBSCRIBED")
_REMOVE_FR = ("RETIREZ", "RETIRER", "SUPPRIMEZ", "SUPPRIMER", "ENLEVEZ", "ENLEVER", "EFFACEZ",
              "EFFACER")  # fmt: skip
_REMOVE_ES = ("BORREN", "BORRA", "BORRE", "BORRAR", "ELIMINEN", "ELIMINA", "ELIMINE", "ELIMINAR",
              "QUITEN", "QUITA", "QUITAR", "SAQUEN", "SACA", "SACAR")  # fmt: skip
_REMOVE_ME_ES = ("BORRENME", "BORRAME", "BORRARME", "ELIMINENME", "ELIMINAME", "ELIMINARME",
                 "QUITENME", "QUITAME", "QUITARME", "SAQUENME", "SACAME", "SACARME")  # fmt: skip
_CONSENT = ("CONSENT", "PERMISSION", "AUTHORIZATION", "CONSENTEMENT", "AUTORISATION",
            "CONSENTIMIENTO", "AUTORIZACION", "PERMISO")  # fmt: skip
_UNSUBSCRIBE_FR = ("DESABONNEZ", "DESABONNER", "DESABONNE", "DESINSCRIRE", "DESINSCRIVEZ",
                   "DESINSCRIS", "DESABONNEMENT", "DESINSCRIPTION")  # fmt: skip
_UNSUBSCRIBE_ES = ("DESUSCRIBIR", "DESUSCRIBIRME", "DESUSCRIBANME", "DESUSCRIBEME", "DESUSCRIPCION")
# Cancel, with the messages as its object only: "cancel these texts", not "cancel my appointment".
_CANCEL_EN = ("CANCEL",)
_CANCEL_FR = ("ANNULEZ", "ANNULER")
_CANCEL_ES = ("CANCELAR", "CANCELEN", "CANCELA", "CANCELE")
# Out or off, after a wish or "sign me": "I want out", "I want off this list", "sign me out".
_OUT = ("OUT", "OFF")
# The key words of the unsubscribe shapes that are not verbs ("cancel my subscription").
_SUBSCRIPTION = ("UNSUBSCRIBE", "UNSUB", "OPTOUT", "OPT", "SUBSCRIPTION", "ABONNEMENT", "BAJA",
                 "SUSCRIPCION")  # fmt: skip
_NO_MORE = ("ENOUGH", "BASTA", "ASSEZ", "FINI")
_SHAPE_VERBS = frozenset().union(
    _STOP_EN, _SENDING_EN, _CONTACT_EN, _STOP_FR, _CONTACT_FR, _CONTACT_FR_CONJUGATED, _STOP_ES,
    _CONTACT_ES, _CONTACT_ES_ME, _CONTACT_ES_CONJUGATED, _REMOVE_EN, _TAKE_OFF_EN, _REMOVED_EN,
    _REMOVE_FR, _REMOVE_ES, _REMOVE_ME_ES, _CONSENT, _SUBSCRIPTION, _UNSUBSCRIBE_FR,
    _UNSUBSCRIBE_ES, _NO_MORE, _CANCEL_EN, _CANCEL_FR, _CANCEL_ES, _OUT,
    ("REVOKE", "WITHDRAW", "REVOQUE", "REVOCO", "RETIRO", "RETIRE"),
)  # fmt: skip


# What may follow a tail-checked shape in its clause: to whom, from whom, how long, how politely.
_TAIL_WORDS = (
    frozenset(
        {"ME", "US", "ANYMORE", "ANY", "MORE", "AGAIN", "EVER", "AT", "ALL", "NOW", "TODAY",
         "IMMEDIATELY", "RIGHT", "ALREADY", "ASAP", "FROM", "YOU", "YOUR", "COMPANY", "STORE",
         "BUSINESS", "THIS", "THESE", "THEM", "THAT", "MY", "NUMBER", "PHONE", "CELL", "TO", "ON",
         "OF", "AND", "OR", "PLUS", "JAMAIS", "DE", "DES", "VOTRE", "VOS", "PART", "CE", "NUMERO",
         "MAS", "NUNCA", "SU", "SUS", "PARTE", "ESTE", "A", "MI", "AL", "LOS", "LAS", "TELEFONO",
         "GUYS", "PEOPLE", "FOLKS", "RIEN", "NADA"}
    )
    | FILLER_WORDS
    | frozenset(_SENDING_EN)
    | _MESSAGE_WORDS
)  # fmt: skip


def _key_word(phrase: str) -> str:
    """The word of a phrase that gates it: the longest ("DO NOT" is NOT, "NO MORE" is MORE)."""
    return max(phrase.split(), key=len)


def _any(*groups: tuple[str, ...]) -> str:
    return "(?:" + _alternatives(*(w for group in groups for w in group)) + ")"


# What may follow a shape in its clause (`_shape`'s `tail`).
_CLAUSE = "clause"  # only _TAIL_WORDS, or the shape does not match
_REMOVAL = "removal"  # what it is from must be a list or the messages; else a review
_FREE = "free"  # anything ("I revoke my consent to these texts")


def _shape(
    language: str, tail: str, lead: tuple[str, ...], rest: str, start: str = r"\b"
) -> tuple[str, str, frozenset[str], re.Pattern[str]]:
    """A shape that starts with one of `lead`; their key words gate the regular expression."""
    anchors = frozenset(map(_key_word, lead))
    return language, tail, anchors, re.compile(rf"{start}{_any(lead)}{rest}")


_NEG_EN = ("DON T", "DONT", "DO NOT", "NEVER", "NO LONGER", "NOT", "DIDN T")
_PLEASE = "(?:PLEASE )?"
# The shapes of a revocation request, each with its language, read one clause at a time. For
# those marked _CLAUSE, what follows the match in its clause may only say to whom, how long
# or how politely ("stop texting me now please", "no more texts from you"): "don't text me back",
# "stop texting while driving" and "no me mandes el paquete" are not revocations. For those
# marked _REMOVAL, what one is removed from must be a list or the messages, and nothing
# else may follow ("remove me as the authorized user", "get me off this flight and onto the
# 7am one", "unsubscribe my husband from the list" are reviews, not opt-outs).
REVOCATION_SHAPES = (
    # stop / quit / end + how or what is sent: "stop texting me", "end all texts"
    _shape("en", _CLAUSE, _STOP_EN, rf" (?:(?:ALL|THE|THESE|THOSE|YOUR|ANY|THIS|ME|US|WITH) )*"
                                    rf"(?:{_any(_SENDING_EN)}\b|(?!OF ){MESSAGES_OBJECT})"),
    # cancel + the messages only: "cancel these texts", "cancelen los mensajes", "annulez les
    # textos" (not "cancel my appointment")
    _shape("en", _CLAUSE, _CANCEL_EN, rf" (?:(?:ALL|MY|ME|US) )*{MESSAGES_OBJECT}"),
    _shape("fr", _CLAUSE, _CANCEL_FR, rf" (?:(?:MES) )?{MESSAGES_OBJECT}"),
    _shape("es", _CLAUSE, _CANCEL_ES, rf" (?:(?:MIS) )?{MESSAGES_OBJECT}"),
    _shape("fr", _CLAUSE, _STOP_FR, rf" DE (?:(?:M|ME|NOUS) )?{_any(_CONTACT_FR)}\b"),
    _shape("fr", _CLAUSE, _STOP_FR, rf" (?:LES|VOS|CES|TOUS) {MESSAGES_OBJECT}"),
    _shape("es", _CLAUSE, _STOP_ES, rf" DE {_any(_CONTACT_ES)}(?:ME|NOS)?\b"),
    # no more + messages: "no more texts", "no más mensajes"; "plus de" mid-sentence is "more"
    _shape("en", _CLAUSE, ("NO MORE", "ENOUGH"), rf" (?:WITH )?{MESSAGES_OBJECT}"),
    _shape("es", _CLAUSE, ("NO MAS", "BASTA DE", "BASTA CON"), rf" {MESSAGES_OBJECT}"),
    _shape("fr", _CLAUSE, ("PLUS DE", "ASSEZ DE", "ASSEZ AVEC", "FINI LES"),
           rf" {MESSAGES_OBJECT}", start="^"),
    # negated request: "don't text me", "never text this number again", "don't send me texts"
    _shape("en", _CLAUSE, _NEG_EN, rf" (?:PLEASE |EVER |EVEN )?{_any(_CONTACT_EN)} {_PERSON}\b"),
    _shape("en", _CLAUSE, _NEG_EN, rf" {_PLEASE}SEND (?:ME|US|THIS NUMBER) "
                                   rf"(?:{MESSAGES_OBJECT}|(?:ANY ?MORE|AGAIN)\b)"),
    # negated wish: "I do not want to receive any more messages", "no longer wish to get texts"
    _shape("en", _CLAUSE, _NEG_EN, rf" (?:\w+ )?(?:WANT|WISH|LIKE|CARE) (?:TO )?"
                                   rf"(?:(?:RECEIVE|GET|BE SENT|KEEP GETTING|KEEP RECEIVING) )?"
                                   rf"{MESSAGES_OBJECT}"),
    _shape("fr", _CLAUSE, ("NE",), rf" (?:(?:M|ME|NOUS) )?"
                                   rf"{_any(_CONTACT_FR_CONJUGATED, _CONTACT_FR)} PLUS\b"),
    _shape("fr", _CLAUSE, ("NE",), rf" (?:\w+ )?PLUS (?:(?:M|ME|NOUS) {_any(_CONTACT_FR)}\b|"
                                   rf"(?:RECEVOIR|AVOIR) {MESSAGES_OBJECT})"),
    _shape("es", _CLAUSE, ("NO",), rf" (?:ME|NOS) (?:\w+ ){{0,2}}?"
                                   rf"{_any(_CONTACT_ES_CONJUGATED, _CONTACT_ES)}\b"),
    # "(favor de) no enviarme más mensajes": the infinitive, the person attached or not
    _shape("es", _CLAUSE, ("NO",), rf" (?:VOLVER A )?{_any(_CONTACT_ES)}(?:ME|NOS)?\b"),
    _shape("es", _CLAUSE, ("NO",), rf" (?:\w+ )?(?:QUIERO|DESEO|QUEREMOS) "
                                   rf"(?:(?:RECIBIR|SEGUIR RECIBIENDO) )?{MESSAGES_OBJECT}"),
    # withdrawn consent: "I revoke my consent", "je retire mon consentement"
    _shape("en", _FREE, ("REVOKE", "REVOKING", "WITHDRAW", "WITHDRAWING", "RESCIND", "RETRACT",
                        "CANCEL"), rf" (?:\w+ ){{0,2}}?{_any(_CONSENT)}\b"),
    _shape("fr", _FREE, ("RETIRE", "RETIRER", "REVOQUE", "REVOQUER", "ANNULE"),
           rf" (?:\w+ ){{0,2}}?{_any(_CONSENT)}\b"),
    _shape("es", _FREE, ("RETIRO", "REVOCO", "RETIRAR", "REVOCAR", "CANCELO"),
           rf" (?:\w+ ){{0,2}}?{_any(_CONSENT)}\b"),
    # removal of the person or their number: "remove my number from your list"
    _shape("en", _REMOVAL, _REMOVE_EN, rf" {_PERSON}{_REMOVED_FROM}"),
    _shape("en", _REMOVAL, _TAKE_OFF_EN, rf" {_PERSON} (?:OFF OF|OFF|OUT OF|FROM)"
                                         rf"(?P<what>(?: \w+){{1,4}})?"),
    _shape("en", _REMOVAL, ("REMOVED", "DELETED", "TAKEN OFF", "UNSUBSCRIBED"), _REMOVED_FROM,
           start=r"\b(?:BE|GET|GOT|BEING) "),
    _shape("fr", _REMOVAL, _REMOVE_FR, rf" {_PERSON}{_REMOVED_FROM}"),
    _shape("fr", _REMOVAL, ("RETIRER", "SUPPRIMER", "ENLEVER"), _REMOVED_FROM,
           start=r"\b(?:ME|M) "),
    _shape("es", _REMOVAL, _REMOVE_ES, rf" {_PERSON}{_REMOVED_FROM}"),
    _shape("es", _REMOVAL, _REMOVE_ME_ES, _REMOVED_FROM),
    # out or off after a wish or "sign me": "I want out", "I want off this list", "sign me out"
    _shape("en", _REMOVAL, _OUT, r"(?: OF| FROM)?(?P<what>(?: \w+){1,4})?",
           start=r"(?<!\bNOT )(?<!\bDON T )(?<!\bDONT )(?<!\bNEVER )"
                 r"\b(?:(?:WANT|WANNA|NEED) (?:TO (?:BE |GET )?)?|SIGN (?:ME|US) )"),
    # unsubscribe, opt out: "kindly unsubscribe me from this list", "je veux me désabonner"
    _shape("en", _REMOVAL, ("UNSUBSCRIBE", "UNSUB", "OPT OUT", "OPT ME OUT", "OPT US OUT",
                           "OPTOUT", "CANCEL MY SUBSCRIPTION", "CANCEL THE SUBSCRIPTION",
                           "CANCEL SUBSCRIPTION"), rf"(?: {_PERSON})?{_REMOVED_FROM}"),
    _shape("fr", _REMOVAL, (*_UNSUBSCRIBE_FR, "ANNULER MON ABONNEMENT", "ANNULER L ABONNEMENT"),
           rf"(?: (?:{_PERSON}|NOUS))?{_REMOVED_FROM}"),
    _shape("es", _REMOVAL, (*_UNSUBSCRIBE_ES, "DAR DE BAJA", "DARME DE BAJA", "DENME DE BAJA",
                           "DAME DE BAJA", "CANCELAR MI SUSCRIPCION", "CANCELAR LA SUSCRIPCION"),
           rf"(?: {_PERSON})?{_REMOVED_FROM}"),
)  # fmt: skip
_SHAPE_PATTERNS = [(language, tail, pattern) for language, tail, _, pattern in REVOCATION_SHAPES]
_SHAPES_BY_ANCHOR: dict[str, tuple[int, ...]] = {
    word: tuple(i for i, (_, _, anchors, _) in enumerate(REVOCATION_SHAPES) if word in anchors)
    for word in frozenset().union(*(anchors for _, _, anchors, _ in REVOCATION_SHAPES))
}

# Idioms without a request's shape, matched as written.
REVOCATION_PHRASES = (
    "RATHER NOT GET", "RATHER NOT RECEIVE", "LEAVE ME OFF", "DONT SEND ME ANY MORE",
    "DON T SEND ME ANY MORE", "DO NOT SEND ME ANY MORE",
)  # fmt: skip
# An opt-out word right after these, in the same clause, does not ask to stop: "never stop",
# "do not stop" ("No. Stop." does). Groups: the negator, the word.
NEGATED = re.compile(
    r"\b(NEVER|NOT|DONT|DON T|DO NOT|PLEASE DONT|PLEASE DON T|PLEASE DO NOT|NO|PAS) "
    r"(STOP|STOPALL|CANCEL|END|QUIT|UNSUBSCRIBE|REMOVE|DELETE|ARRET|ARRETE|ARRETEZ|PARAR|"
    r"PAREN)\b"
)
# Sent alone, these mean stop: the stop sign, no entry, prohibited (variation selectors aside).
STOP_SYMBOLS = frozenset("\U0001f6d1\u26d4\U0001f6ab")
UNCLEAR_REVOCATION_PHRASES = (
    "LEAVE ME ALONE", "NOT INTERESTED", "WRONG NUMBER", "DONT WANT", "DON T WANT",
    "DO NOT WANT", "NO LONGER", "ENOUGH",
)  # fmt: skip
# Opt-out words that, inside an ordinary sentence, deserve a human look. CANCEL and CANCELAR are
# not among them ("please cancel my appointment", "cancelar mi cita" are ordinary): with the
# messages as their object they are revocation shapes ("cancel these texts").
STRONG_REVOCATION_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "UNSUB", "OPTOUT", "REVOKE", "ARRET", "ARRETEZ", "SPAM",
     "SPAMMING", "DESABONNER", "DESUSCRIBIR"}
)  # fmt: skip

# Opt-in and help requests are short sentences made of these words and one request word.
_OPT_IN_WORDS = frozenset(
    {"START", "RESTART", "RESUME", "UNSTOP", "RESUBSCRIBE", "SUBSCRIBE", "REJOIN", "REANUDAR",
     "REPRENDRE"}
)  # fmt: skip
_OPT_IN_PHRASES = re.compile(r"\b(?:BACK IN|BACK UP|OPT (?:ME |US )?(?:BACK )?IN)\b")
_OPT_IN_AROUND = frozenset(
    {"I", "WANT", "TO", "WOULD", "LIKE", "D", "M", "READY", "ME", "MY", "US", "THE", "TEXTS",
     "TEXT", "MESSAGES", "MSGS", "SMS", "ALERTS", "AGAIN", "SENDING", "BACK", "UP", "IN", "SIGN",
     "COUNT", "PUT", "OPT", "CAN", "YOU", "MES", "LES", "MIS", "LOS", "MENSAJES", "TEXTOS"}
)  # fmt: skip
_RECEIVE_AGAIN = re.compile(
    rf"\b(?:RECEIVE|GET|GETTING|RECEIVING|RECEVOIR|RECIBIR) {MESSAGES_OBJECT}"
    rf"(?: \w+){{0,2}}? (?:AGAIN|A NOUVEAU|DE NOUVEAU|DE NUEVO|OTRA VEZ)\b"
    rf"|\b(?:VOLVER A|VUELVAN A|REVENIR A) (?:RECIBIR|RECEVOIR) {MESSAGES_OBJECT}"
)
_RECEIVE = frozenset({"RECEIVE", "GET", "GETTING", "RECEIVING", "RECEVOIR", "RECIBIR"})
_RECEIVE_AGAIN_LANGUAGE = {"RECEVOIR": "fr", "RECIBIR": "es"}
_HELP_WORDS = frozenset({"HELP", "AIDE", "AYUDA", "AIDEZ", "AYUDAME", "AYUDENME", "INFO"})
_HELP_AROUND = frozenset(
    {"I", "NEED", "SOME", "ME", "WE", "US", "J", "AI", "BESOIN", "D", "DE", "MOI", "NECESITO",
     "NECESITAMOS", "QUIERO", "UN", "POCO", "PLEASE"}
)  # fmt: skip
_HELP_LANGUAGE = {"AIDE": "fr", "AIDEZ": "fr", "AYUDA": "es", "AYUDAME": "es", "AYUDENME": "es"}
_NEGATION_WORDS = frozenset({"NOT", "DONT", "NEVER", "NO", "NE", "PAS", "NUNCA", "T"})


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    return re.compile(r"\b(" + "|".join(sorted(phrases, key=len, reverse=True)) + r")\b")


REVOCATION = _phrase_pattern(REVOCATION_PHRASES)
UNCLEAR_REVOCATION = _phrase_pattern(UNCLEAR_REVOCATION_PHRASES)
# The key words of the expressions above: a text without any skips the expression.
_PHRASE_KEYS = frozenset(map(_key_word, REVOCATION_PHRASES))
_UNCLEAR_KEYS = frozenset(map(_key_word, UNCLEAR_REVOCATION_PHRASES))
_NEGATING = frozenset({"NEVER", "NOT", "DONT", "DON", "NO", "PAS"})  # one is in each of NEGATED

# The words without which no rule but the stop symbol can match: a text with none of them is
# ordinary and leaves after one set intersection.
CUE_WORDS = (
    _SHAPE_VERBS
    | _MESSAGE_WORDS
    | _OPT_IN_WORDS
    | _HELP_WORDS
    | _PHRASE_KEYS
    | _UNCLEAR_KEYS
    | {"BACK", "NEED", "BESOIN", "NECESITO"}
)

# Letters from other scripts that look like Latin ones ("ЅТОР" must read as STOP), and
# invisible characters (zero-width, byte-order, soft hyphen) that must not split a word.
UNICODE_CLEANUP = str.maketrans(
    "АВСЕНІЈКМОРЅТХУаеіјорсѕухΑΒΕΗΙΚΜΝΟΡΤΥΧοτ’",
    "ABCEHIJKMOPSTXYaeijopcsyxABEHIKMNOPTYXot'",
    "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\ufeff\u00ad",
)
COMBINING_MARKS = re.compile("[\u0300-\u036f]")
# One pass over ASCII: letters upper-cased, the rest spaces ("don't" is DON T, "m'écrire" is
# M ECRIRE). bytes.translate is the fastest pass Python has; ordinary texts are mostly ASCII.
ASCII_WORDS = (
    bytes(ord(chr(b).upper()) if chr(b).isalnum() else 32 for b in range(128)) + b" " * 128
)


@dataclass(frozen=True)
class Classification:
    """What a message asks for, and why the classifier thinks so.

    `matched` is the part of the (normalised) request that decided it; `stripped` is what was
    cut from around the request before reading it (signatures, greetings, sign-offs, names).
    """

    intent: Intent
    keyword: str | None
    language: str
    rule: str
    review: bool = False
    matched: str | None = None
    stripped: tuple[str, ...] = ()


NOT_A_KEYWORD = Classification(Intent.NONE, None, "en", "no_keyword")
NEGATED_REVOCATION = Classification(Intent.NONE, None, "en", "negated_revocation")
NEGATED_FOR_REVIEW = replace(NEGATED_REVOCATION, review=True)
UNCLEAR = Classification(Intent.NONE, None, "en", "unclear_revocation", review=True)


@dataclass(frozen=True)
class KeywordSet:
    """The keywords one number answers to: the defaults, plus its own, minus what it removed."""

    intents: dict[str, Intent]
    triggers: frozenset[str] = field(init=False)
    vocabulary: frozenset[str] = field(init=False)
    filler_rule_words: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        words = {w for keyword in self.intents for w in keyword.split()}
        triggers = words | CUE_WORDS | STRONG_REVOCATION_WORDS | {YES}
        object.__setattr__(self, "triggers", frozenset(triggers))
        object.__setattr__(self, "vocabulary", frozenset(triggers | FILLER_WORDS))
        filler_rule = words | FILLER_WORDS | OPT_OUT_TARGET_WORDS | _FILLER_PHRASE_WORDS
        object.__setattr__(self, "filler_rule_words", frozenset(filler_rule))

    @classmethod
    def build(
        cls,
        extra_opt_out: Iterable[str] = (),
        extra_opt_in: Iterable[str] = (),
        extra_help: Iterable[str] = (),
        removed: Iterable[str] = (),
    ) -> KeywordSet:
        """Defaults plus extras minus removed; STOP, START and HELP cannot be removed."""
        gone = {normalise(k) for k in removed} - PROTECTED_KEYWORDS
        intents: dict[str, Intent] = {}
        for intent, keywords in (
            (Intent.HELP, (*DEFAULT_HELP, *extra_help)),
            (Intent.OPT_IN, (*DEFAULT_OPT_IN, *extra_opt_in)),
            (Intent.OPT_OUT, (*DEFAULT_OPT_OUT, *extra_opt_out)),  # last: opt-out wins clashes
        ):
            for keyword in map(normalise, keywords):
                if keyword and keyword not in gone:
                    intents[keyword] = intent
        return cls(intents)


def normalise(text: str) -> str:
    """Upper-case Latin words separated by single spaces: look-alikes, accents and symbols gone."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(UNICODE_CLEANUP)
        if not text.isascii():  # accents off, then anything still not ASCII becomes a space
            text = unicodedata.normalize("NFD", text)
            text = COMBINING_MARKS.sub("", text).encode("ascii", "replace").decode()
    words = text.encode().translate(ASCII_WORDS).decode().split()
    if len(words) > 2 and all(len(w) == 1 for w in words):  # "S T O P", "s.t.o.p"
        return "".join(words)
    normalised = " ".join(words)
    if "0" in normalised:  # "ST0P": a zero inside a word is an O
        normalised = " ".join(w if w.isdigit() else w.replace("0", "O") for w in words)
    return normalised


DEFAULT_KEYWORDS = KeywordSet.build()


def has_cue(text: str, keywords: KeywordSet = DEFAULT_KEYWORDS) -> bool:
    """Whether the text carries a keyword or a revocation cue (else it is ordinary)."""
    return not keywords.triggers.isdisjoint(normalise(text).split())


def classify_text(text: str, keywords: KeywordSet = DEFAULT_KEYWORDS) -> Classification:
    """Classify a message by its text alone."""
    normalised = normalise(text)
    if keywords.triggers.isdisjoint(normalised.split()):
        return _stop_symbol(text) if not normalised else NOT_A_KEYWORD
    intent = keywords.intents.get(normalised)
    if intent is not None:  # the commonest keyword message: "STOP"
        return _found(intent, normalised, "exact_keyword")
    body = split_body(text, keywords.vocabulary)
    if len(body.clauses) > 1 or body.stripped:
        clauses = [normalise(c) for c in body.clauses]
        normalised = " ".join(clauses)
    else:
        clauses = [normalised]
    result = _classify_request(normalised, clauses, keywords)
    return replace(result, stripped=body.stripped) if body.stripped else result


def _classify_request(normalised: str, clauses: list[str], keywords: KeywordSet) -> Classification:
    """The rules after the exact keyword, on the request's normalised text and its clauses."""
    intent = keywords.intents.get(normalised)
    if intent is not None:
        return _found(intent, normalised, "exact_keyword")
    if normalised == YES:
        return Classification(Intent.OPT_IN, YES, "en", "yes_if_blocked", matched=YES)
    words = normalised.split()
    negation = None
    if not _NEGATING.isdisjoint(words):
        # Clause by clause: "No. Stop." says no, then stop; only "never stop" negates the stop.
        negators = [m.groups() for c in clauses for m in NEGATED.finditer(c)]
        if negators:
            negated = [" ".join(NEGATED.sub(" ", c).split()) for c in clauses]
            # "never stop sending me the deals" alone needs no look. Among other sentences
            # ("Thanks. Don't stop") or after an English bare "no" ("no stop" is often "no,
            # stop" with the comma left out; Spanish "no paren" is a real negation), a person
            # had better read it. Used if no other rule fires.
            plain = len(clauses) == 1 and all(
                negator != "NO" or word in ("PARAR", "PAREN") for negator, word in negators
            )
            negation = NEGATED_REVOCATION if plain else NEGATED_FOR_REVIEW
            if keywords.triggers.isdisjoint(" ".join(negated).split()):
                return negation
            clauses = [c for c in negated if c]
            normalised = " ".join(clauses)
            words = normalised.split()
    result = (
        _keyword_with_filler(normalised, keywords)
        or _revocation_request(normalised, clauses)
        or _keyword_at_end(clauses, keywords)
        or _opt_in_request(normalised)
        or _help_request(normalised)
        or (_phrase(REVOCATION, normalised) if not _PHRASE_KEYS.isdisjoint(words) else None)
        or (UNCLEAR if _unclear(normalised) else NOT_A_KEYWORD)
    )
    return negation if negation is not None and result is NOT_A_KEYWORD else result


def _found(intent: Intent, keyword: str, rule: str) -> Classification:
    language = KEYWORD_LANGUAGE.get(keyword, "en")
    return Classification(intent, keyword, language, rule, matched=keyword)


def _only(normalised: str, allowed: frozenset[str]) -> list[str] | None:
    """The words of the text, filler phrases ("por favor") taken out, if all are `allowed`."""
    words = normalised.split()
    unknown = set(words) - allowed - FILLER_WORDS
    if not unknown:
        return words
    if unknown <= _FILLER_PHRASE_WORDS:
        words = FILLER_PHRASES.sub(" ", normalised).split()
        if set(words) <= allowed | FILLER_WORDS:
            return words
    return None


def _keyword_with_filler(normalised: str, keywords: KeywordSet) -> Classification | None:
    words = normalised.split()
    if not keywords.filler_rule_words.issuperset(words):  # a sentence, most often
        return None
    found = [(w, keywords.intents[w]) for w in words if w in keywords.intents]
    if not found and "STOP ALL" in keywords.intents and "STOP ALL" in normalised:
        found = [("STOP ALL", Intent.OPT_OUT)]
    intents = {intent for _, intent in found}
    if not intents or (len(intents) > 1 and Intent.OPT_OUT not in intents):
        return None
    intent = Intent.OPT_OUT if Intent.OPT_OUT in intents else intents.pop()
    allowed = {w for w, _ in found} | (
        OPT_OUT_TARGET_WORDS if intent is Intent.OPT_OUT else frozenset()
    )
    if _only(normalised.replace("STOP ALL", "STOP"), frozenset(allowed)) is None:
        return None
    keyword = next(w for w, i in found if i is intent)
    return replace(_found(intent, keyword, "keyword_with_filler"), matched=normalised)


def _revocation_request(normalised: str, clauses: list[str]) -> Classification | None:
    """The first shape that is an opt-out; else the first that is a review; else None."""
    shapes = _shapes_for(normalised.split())
    review = None
    for clause in clauses if shapes else ():
        for language, tail_mode, shape in shapes:
            match = shape.search(clause)
            if match is None:
                continue
            tail = FILLER_PHRASES.sub(" ", clause[match.end() :]).split()
            if tail_mode == _CLAUSE and not _TAIL_WORDS.issuperset(tail):
                continue
            found = _revocation(match, tail if tail_mode == _REMOVAL else None, language,
                                clause[match.start() :], normalised)  # fmt: skip
            if found.intent is Intent.OPT_OUT:
                return found
            review = review or found
    return review


def _shapes_for(words: list[str]) -> list[tuple[str, str, re.Pattern[str]]]:
    """The shapes whose first word is in the text, in the table's order."""
    found = {i for w in words if w in _SHAPES_BY_ANCHOR for i in _SHAPES_BY_ANCHOR[w]}
    return [_SHAPE_PATTERNS[i] for i in sorted(found)]


def _revocation(
    match: re.Match[str], tail: list[str] | None, language: str, request: str, normalised: str
) -> Classification:
    """An opt-out, unless the request is about another thing than the texts, or unclear.

    `tail` is what follows a removal in its clause (None for the other shapes).
    """
    matched = match.group().strip()
    what = (match.groupdict().get("what") or "").split()
    about_texts = not _MESSAGE_WORDS.isdisjoint(matched.split())
    other_channel = not OTHER_CHANNELS.isdisjoint(normalised.split())
    removed_from = _removed_from(what, tail) if tail is not None else _TEXTS
    if removed_from is _POINTED and matched.split()[0] not in _UNSUBSCRIBE_LEADS:
        return replace(UNCLEAR, language=language, matched=matched)  # "take me off it": off what?
    if (
        removed_from is _ELSE
        or not OTHER_CHANNELS.isdisjoint(what)
        or (other_channel and not about_texts)
    ):
        return Classification(
            Intent.NONE, None, language, "request_about_something_else", review=True,
            matched=matched,
        )  # fmt: skip
    return Classification(Intent.OPT_OUT, matched, language, "revocation_request", matched=request)


_TEXTS, _ELSE, _POINTED = "texts", "something else", "pointed"
# Words that point at something without naming it: "take me off it", "get me out of this".
_POINTING = frozenset(
    {"IT", "THEM", "THIS", "THESE", "THAT", "THOSE", "HERE", "THERE", "ICI", "CA", "ESO", "ESTO",
     "AQUI"}
)  # fmt: skip
_AROUND_A_REMOVAL = _TAIL_WORDS | _BEFORE_LIST | _LIST_WORDS | _AFTER_LIST | _FILLER_PHRASE_WORDS
_FROM_WORDS = frozenset({"FROM", "OFF", "OUT", "DE", "DU", "DES", "DEL", "AU", "AUX", "AL"})
_OF = frozenset({"OF", "FOR", "DE", "D", "DU", "DES", "DEL", "PARA", "POUR"})
# Removals led by an opt-out word: "unsubscribe me from this" needs no name for what it is from.
_UNSUBSCRIBE_LEADS = frozenset(
    {"UNSUBSCRIBE", "UNSUB", "OPT", "OPTOUT", "DAR", "DARME", "DENME", "DAME",
     *_UNSUBSCRIBE_FR, *_UNSUBSCRIBE_ES}
)  # fmt: skip


def _removed_from(what: list[str], tail: list[str]) -> str:
    """What a removal is from: _TEXTS if a list or the messages, or nothing named ("remove me
    now"); _POINTED if only "this" or "it"; _ELSE if anything else.

    `what` is what follows "from", "off", "de" (up to four words), `tail` the rest of the clause.
    """
    if not what:  # "remove me now from your list", "unsubscribe my husband from the list"
        cut = next((i for i, w in enumerate(tail) if w in _FROM_WORDS), len(tail))
        if not all(w in _AROUND_A_REMOVAL or w.isdigit() for w in tail[:cut]):
            return _ELSE  # "remove me as the authorized user"
        what, tail = tail[cut + 1 : cut + 5], tail[cut + 5 :]
        if not what:
            return _TEXTS
    head = next((i for i, w in enumerate(what) if w not in _BEFORE_LIST), None)
    if head is None and not _NOUNS_BEFORE_LIST.isdisjoint(what):
        return _ELSE  # "get me off this call"
    if head is None or what[head] in _POINTING:
        after = what[head + 1 :] if head is not None else []
        return _POINTED if all(w in _AROUND_A_REMOVAL for w in after + tail) else _ELSE
    if what[head] not in _LIST_WORDS:
        return _ELSE  # "get me off this flight", "retirez-moi du compte"
    after = what[head + 1 :] + tail
    if len(after) > 1 and after[0] in _OF and after[1] not in _AROUND_A_REMOVAL:
        return _ELSE  # "take me off the list of drivers for Friday"
    return _TEXTS  # whatever follows: "remove me from your list, I never signed up"


def _keyword_at_end(clauses: list[str], keywords: KeywordSet) -> Classification | None:
    """A keyword alone after a question or a sentence ("How do I pay? HELP"), or an opt-out
    keyword followed only by refusals ("stop. not interested", "Stop. Leave me alone")."""
    refusals = 0
    while len(clauses) - refusals > 1 and _is_refusal(clauses[-1 - refusals]):
        refusals += 1
    if len(clauses) < 2:
        return None
    last = clauses[-1 - refusals]
    intent = keywords.intents.get(last)
    found = _found(intent, last, "keyword_at_end") if intent else None
    found = found or _keyword_with_filler(last, keywords)
    if found is None or (refusals and found.intent is not Intent.OPT_OUT):
        return None
    return replace(found, rule="keyword_at_end")


# A clause that refuses without asking anything: "not interested", "no thanks", "leave me alone".
_REFUSALS = frozenset(
    {"NO", "NOPE", "NAH", "NOT", "INTERESTED", "THANKS", "THANK", "YOU", "THX", "WRONG", "NUMBER",
     "PAS", "INTERESSE", "INTERESSEE", "MERCI", "NON", "GRACIAS", "INTERESA", "ME", "NUMERO",
     "EQUIVOCADO", "MAUVAIS"}
)  # fmt: skip


def _is_refusal(clause: str) -> bool:
    words = clause.split()
    return _REFUSALS.issuperset(words) or bool(
        not _UNCLEAR_KEYS.isdisjoint(words) and UNCLEAR_REVOCATION.fullmatch(clause)
    )


def _opt_in_request(normalised: str) -> Classification | None:
    words = normalised.split()
    if not _NEGATION_WORDS.isdisjoint(words):
        return None
    again = _RECEIVE_AGAIN.search(normalised) if not _RECEIVE.isdisjoint(words) else None
    if again:
        verb = next((w for w in again.group().split() if w in _RECEIVE_AGAIN_LANGUAGE), "")
        language = _RECEIVE_AGAIN_LANGUAGE.get(verb, "en")
        return Classification(
            Intent.OPT_IN, again.group(), language, "opt_in_request", matched=again.group()
        )
    requests = [w for w in words if w in _OPT_IN_WORDS]
    phrase = _OPT_IN_PHRASES.search(normalised) if "BACK" in words or "OPT" in words else None
    if not (requests or phrase) or _only(normalised, _OPT_IN_AROUND | _OPT_IN_WORDS) is None:
        return None
    keyword = requests[0] if requests else phrase.group() if phrase else None
    language = "es" if keyword == "REANUDAR" else "fr" if keyword == "REPRENDRE" else "en"
    return Classification(Intent.OPT_IN, keyword, language, "opt_in_request", matched=normalised)


def _help_request(normalised: str) -> Classification | None:
    words = normalised.split()
    if _HELP_WORDS.isdisjoint(words):
        return None
    requests = [w for w in words if w in _HELP_WORDS]
    if not requests or _only(normalised, _HELP_AROUND | _HELP_WORDS) is None:
        return None
    keyword = requests[0]
    return Classification(
        Intent.HELP, keyword, _HELP_LANGUAGE.get(keyword, "en"), "help_request", matched=normalised
    )


def _phrase(pattern: re.Pattern[str], normalised: str) -> Classification | None:
    match = pattern.search(normalised)
    if match is None:
        return None
    phrase = match.group(1)
    return Classification(Intent.OPT_OUT, phrase, "en", "revocation_phrase", matched=phrase)


def _stop_symbol(text: str) -> Classification:
    """🛑, ⛔ or 🚫 sent alone (repeated or not, spaces and variation selectors aside)."""
    symbols = {c for c in text if not c.isspace() and c != "\ufe0f"}
    if symbols and symbols <= STOP_SYMBOLS:
        return Classification(Intent.OPT_OUT, "STOP", "en", "stop_symbol", matched=text.strip())
    return NOT_A_KEYWORD


def _unclear(normalised: str) -> bool:
    words = normalised.split()
    return not STRONG_REVOCATION_WORDS.isdisjoint(words) or (
        not _UNCLEAR_KEYS.isdisjoint(words) and bool(UNCLEAR_REVOCATION.search(normalised))
    )
