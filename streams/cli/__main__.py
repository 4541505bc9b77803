"""`python -m optout.streams.cli`: the same as the `optout` command."""

import sys

from optout.streams.cli import main

sys.exit(main())
