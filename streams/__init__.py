"""The Faust pipeline and the `optout` command line.

Read one STOP in the order it flows: `topics.py` (where it arrives), `rules/keywords.py` and
`rules/decide.py` (what is decided), `agents/classify.py` (how the decision is applied and
published), `tables/blocklist.py` in optout.tables (what is remembered), `agents/deliver_reply.py`
and `agents/deliver_webhook.py` (what goes out). `app.py` is the composition root; the README's
Development section draws the rest.
"""
