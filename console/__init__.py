"""The operator console: server-rendered pages over the HTTP API. Read `pages.py` (what is
shown), `views.py` (on a classify worker), `replica.py` (on a lookup replica)."""
