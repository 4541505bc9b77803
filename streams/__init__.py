"""The Faust app, its agents, and the `optout` command line."""
