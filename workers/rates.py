"""MEGA's rate-limit headers, remembered per customer and endpoint to wait before a 429."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.records import now_ms
from workers.mega import RateInfo

if TYPE_CHECKING:
    from workers.flush import Flush


def rate_wait(flush: Flush, endpoint: str) -> int:
    """When MEGA said no calls remain in this window: the reset time, else 0."""
    remaining, reset_at = flush.store.state(flush.name).rate.get(endpoint, ("", 0))
    if remaining == "0" and reset_at > now_ms(flush.ctx.clock):
        flush.lease.set_state(hold_reason="rate_limited")
        return reset_at
    return 0


def note_rate(flush: Flush, endpoint: str, rate: Any) -> None:
    """Remember what MEGA said is left in the window."""
    if not isinstance(rate, RateInfo) or rate.remaining is None or not endpoint:
        return
    reset_at = now_ms(flush.ctx.clock) + int((rate.reset_s or 0) * 1000)
    flush.lease.set_state(**{f"rl:{endpoint}:remaining": rate.remaining,
                             f"rl:{endpoint}:reset_at": reset_at})
