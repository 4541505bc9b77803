"""A send service written in Python answers from its own copy of the block list, in process:
no network call per message, memory flat however long the list.

    python examples/python_reader.py 127.0.0.1:9092 /tmp/blocklist +12125550100 +14155550100

Fail closed: until the copy has caught up it has no answer, and a send service sends nothing
(this script exits 1 and says so; `is_blocked` would raise ConsentUnknown).
"""

import sys

from optout.tables.client.blocklist_reader import BlocklistReader

if __name__ == "__main__":
    bootstrap, path, business_number, end_user = sys.argv[1:5]
    reader = BlocklistReader(bootstrap, path)
    reader.start_in_thread()
    if not reader.wait_until_caught_up(timeout=60):
        print("unknown: the copy has not caught up; send nothing yet", file=sys.stderr)
        sys.exit(1)
    consent = reader.consent(business_number, end_user)
    print("blocked" if consent.blocked else "not blocked", consent.entry)
