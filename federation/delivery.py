"""The delivery queue, one module per concern; this one names what callers use.

- `delivery_fanout`: `enqueue` an activity with its audience, expanded into one row per inbox
- `delivery_worker`: `DeliveryWorker` claims, sends and records rows
- `delivery_lane`: the worker's send slots (per host, and a lane for slow hosts)
- `delivery_errors`: what a failed POST was, for the retry policy (`retry`)
- `host_health`: the per-host circuit breaker's memory
- `delivery_report`: the queue as operators see it
"""

from federation.delivery_errors import classify
from federation.delivery_fanout import (
    FANOUT_BATCH,
    LANE_NORMAL,
    LANE_PRIORITY,
    enqueue,
    expand_fanouts,
    follower_inboxes,
    is_public,
)
from federation.delivery_report import queue_status
from federation.delivery_worker import DeliveryWorker
from federation.host_health import resume_host

__all__ = [
    "FANOUT_BATCH",
    "LANE_NORMAL",
    "LANE_PRIORITY",
    "DeliveryWorker",
    "classify",
    "enqueue",
    "expand_fanouts",
    "follower_inboxes",
    "is_public",
    "queue_status",
    "resume_host",
]
