"""A full copy of the block list (every partition) in each worker that needs one: for listings
(tables/views/blocklist.py) and for the send delivery agent's last check before each carrier
attempt (streams/agents/deliver_send.py), which runs where the table's partitions may not be.

A BlocklistReader following the changelog and the settings from the start, opened when the
worker starts; it trails the changelog by its fetch wait.
"""

from __future__ import annotations

from optout.streams.app import app, config, registry
from optout.streams.metrics import BLOCKED_PAIRS
from optout.tables.client.blocklist_reader import BlocklistReader

__all__ = ["follow_full_copy", "reader"]

reader: BlocklistReader | None = None


@app.task
async def follow_full_copy() -> None:
    global reader
    reader = BlocklistReader(config.broker_url, config.data_dir / "blocklist-copy", registry)
    BLOCKED_PAIRS.set_function(lambda: reader.blocked_count if reader else 0)
    await reader.run()
