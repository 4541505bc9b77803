"""Default auto-reply texts per intent and language (CTIA: brand, no marketing, opt-out how-to)."""

from __future__ import annotations

from optout.streams.policy import Intent

TEMPLATES: dict[Intent, dict[str, str]] = {
    Intent.OPT_OUT: {
        "en": "{brand}: You are unsubscribed and will receive no more messages. "
        "Reply START to resubscribe.",
        "fr": "{brand}: Vous etes desabonne et ne recevrez plus de messages. "
        "Repondez START pour vous reabonner.",
        "es": "{brand}: Se ha dado de baja y no recibira mas mensajes. "
        "Responda START para volver a suscribirse.",
    },
    Intent.OPT_IN: {
        "en": "{brand}: You are resubscribed. Msg&data rates may apply. "
        "Reply HELP for help, STOP to opt out.",
        "fr": "{brand}: Vous etes reabonne. Des frais de msg et donnees peuvent s'appliquer. "
        "Repondez ARRET pour vous desabonner.",
        "es": "{brand}: Se ha vuelto a suscribir. Pueden aplicarse tarifas de msj y datos. "
        "Responda ALTO para darse de baja.",
    },
    Intent.HELP: {
        "en": "{brand}: Help at {contact}. Msg&data rates may apply. Reply STOP to opt out.",
        "fr": "{brand}: Aide: {contact}. Des frais de msg et donnees peuvent s'appliquer. "
        "Repondez ARRET pour vous desabonner.",
        "es": "{brand}: Ayuda: {contact}. Pueden aplicarse tarifas de msj y datos. "
        "Responda ALTO para darse de baja.",
    },
}


def reply_text(intent: Intent, language: str, brand: str, contact: str) -> str:
    """The default reply for an intent in a language (English when the language has none)."""
    by_language = TEMPLATES[intent]
    template = by_language.get(language, by_language["en"])
    return template.format(brand=brand, contact=contact)
