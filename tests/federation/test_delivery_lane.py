"""The send lane's bookkeeping, driven a step at a time by sends the test itself lets finish."""

from __future__ import annotations

import asyncio

from federation.delivery_lane import SendLane


async def test_a_host_freed_while_a_claim_runs_is_claimed_again():
    """A claim leaves a host alone because a batch of its rows waits in the lane; while that
    claim is out, the host's rows move on. The claim coming back empty must not make the lane
    think nothing is due: the host's rows it did not look at are."""
    answers = {job: asyncio.Event() for job in ("a", "b", "c")}

    async def send(job: str) -> str:
        await answers[job].wait()
        return "sent"

    lane: SendLane[str] = SendLane(
        send,
        key=lambda _job: "one.example",
        concurrency=3,
        per_host=1,
        look_ahead=2,
        flush_size=100,
        flush_interval=3600,
        poll_interval=3600,  # no look on a timer: only the lane's own reasons to claim
    )
    stop, wake = asyncio.Event(), asyncio.Event()
    try:
        lane.add(["a", "b", "c"], more=True, expanded=False)  # "a" goes, "b" and "c" wait
        assert lane.busy_hosts() == ["one.example"]  # the next claim starts, skipping it

        answers["a"].set()  # ...and while it runs, "a" is answered and "b" goes out
        await lane.progress.wait()
        lane.add([], more=False, expanded=False)  # the claim found nothing else

        assert lane.should_claim(stop, wake)
    finally:
        lane.cancel()
