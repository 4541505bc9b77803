"""`optout`: the one command-line front door (run `optout --help`)."""

from optout.streams.cli.main import main

__all__ = ["main"]
