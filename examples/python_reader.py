"""A send service written in Python answers from its own copy of the block list, in process:
no network call per message, memory flat however long the list.

    python examples/python_reader.py 127.0.0.1:9092 /tmp/blocklist +12125550100 +14155550100
"""

import sys

from optout.tables.client.blocklist_reader import BlocklistReader

if __name__ == "__main__":
    bootstrap, path, business_number, end_user = sys.argv[1:5]
    reader = BlocklistReader(bootstrap, path)
    reader.start_in_thread()
    reader.wait_until_caught_up(timeout=60)
    entry = reader.entry(business_number, end_user)
    print("blocked" if reader.is_blocked(business_number, end_user) else "not blocked", entry)
