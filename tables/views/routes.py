"""Every route of a classify worker's HTTP API, registered by importing this one module: lookups,
changes, consent records, histories, evidence, settings, sends, the web opt-out page, review,
dead letters, figures, and how far classify got, for the other workers (the operator console's
pages are console/views.py). They answer from the tables the classify agents keep; a lookup replica
serves its subset from tables/client/lookup_replica.py."""

from __future__ import annotations

from optout.tables.views import (
    blocklist,
    consent,
    dead_letters,
    figures,
    history,
    numbers,
    progress,
    review,
    sends,
    web_opt_out,
)

__all__ = ["MODULES"]

MODULES = (
    blocklist,
    consent,
    history,
    numbers,
    sends,
    web_opt_out,
    review,
    dead_letters,
    figures,
    progress,
)
