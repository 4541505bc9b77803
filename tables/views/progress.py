"""How far this worker has classified its inbound partitions, for the other workers: a lookup or
a send waiting on a partition classified here asks (streams/runtime/peers.py) instead of waiting
for the group's next commit. Offsets only: no message, no number."""

from __future__ import annotations

from faust.web import Request, Response, View

from optout.streams.app import app
from optout.streams.runtime.assignment import assignment
from optout.streams.runtime.handled import classified
from optout.streams.runtime.peers import CLASSIFIED_PATH
from optout.streams.topics import INBOUND_TOPIC, REKEYED_INBOUND_TOPIC

__all__ = ["ClassifiedView"]


@app.page(CLASSIFIED_PATH)
class ClassifiedView(View):
    """GET {"classified": {"inbound-messages:0": 1234, ...}}: per partition, the next offset to
    classify, everything before it handled (a lower bound, as of the answer)."""

    async def get(self, request: Request) -> Response:
        inbound = (INBOUND_TOPIC, REKEYED_INBOUND_TOPIC)
        tps = {tp for tp in assignment.assigned() if tp.topic in inbound}
        tps |= set(classified.next_offset)
        return self.json(
            {
                "classified": {
                    f"{tp.topic}:{tp.partition}": classified.handled_up_to(tp) for tp in tps
                }
            }
        )
