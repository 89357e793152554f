"""A dry run's calls: valid rows to MEGA's bulk endpoint with `dry_run: true`, ≤500 per call,
within the customer's rate limit, through the worker's MEGA client."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from gateway import defaults
from gateway.config import Customer
from gateway.domain.policy import backoff_s
from gateway.errors import DeliveryError, InboundError, MegaRateLimited, MegaUnavailable
from gateway.imports.rows import Prepared
from gateway.mega.client import MegaClient, MegaResponse, RateInfo
from gateway.mega.contract import MAX_BULK_ROWS


class PreviewFailed(InboundError):
    """MEGA did not give a preview (credentials, a refused body, or no answer in time)."""

    status_code = 502


class PreviewRateLimited(InboundError):
    """MEGA's limit would keep the caller waiting longer than it may."""

    status_code = 503


class Previewer:
    """Sends rows for preview; waits out 429s and an exhausted RateLimit window."""

    def __init__(self, mega: MegaClient, customer: Customer, on_duplicate: str, *,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, max_wait_s: float | None = None):
        self.mega, self.customer, self.on_duplicate = mega, customer, on_duplicate
        self.sleep, self.clock, self.max_wait_s = sleep, clock, max_wait_s
        self.calls, self._resume_at = 0, 0.0

    def preview(self, rows: list[Prepared]) -> tuple[list[dict[str, Any]], list[str]]:
        """MEGA's verdict per row ({row, status, matched_by, errors, ignored_custom_fields}),
        and the unknown custom fields."""
        assert 0 < len(rows) <= MAX_BULK_ROWS
        body = json.dumps({"dry_run": True, "on_duplicate": self.on_duplicate, "leads": [
            {"row_ref": str(p.number), **json.loads(p.record["lead"])}  # type: ignore[index]
            for p in rows]}, separators=(",", ":")).encode()
        answer = self._send(body).body
        results = answer.get("results")
        if not isinstance(results, list):
            raise PreviewFailed("MEGA's dry-run answer has no results")
        by_ref = {str(r.get("row_ref")): r for r in results if isinstance(r, dict)}
        out = []
        missing = {"status": "failed", "errors": ["MEGA's answer has no result for this row"]}
        for p in rows:
            r = by_ref.get(str(p.number)) or missing
            out.append({"row": p.number, "status": str(r.get("status")),
                        "matched_by": r.get("matched_by"), "errors": r.get("errors") or [],
                        "ignored_custom_fields": r.get("ignored_custom_fields") or []})
        return out, [str(u) for u in answer.get("unknown_custom_fields") or []]

    def _send(self, body: bytes) -> MegaResponse:
        attempt = 0
        while True:
            self._wait(self._resume_at - self.clock())
            self.calls += 1
            try:
                response = self.mega.send(self.customer, "bulk", body,
                                          f"lgd-{uuid.uuid4().hex}")
            except MegaRateLimited as exc:
                self._resume_at = self.clock() + exc.retry_after_s
                continue
            except MegaUnavailable as exc:
                attempt += 1
                if attempt > defaults.IMPORT_PREVIEW_RETRIES:
                    raise PreviewFailed(f"MEGA did not answer the dry run: {exc}") from None
                self._wait(backoff_s(attempt))
                continue
            except DeliveryError as exc:
                raise PreviewFailed(f"MEGA refused the dry run: {exc}") from None
            self._note(response.rate)
            return response

    def _note(self, rate: RateInfo) -> None:
        """An exhausted window: the next call waits for its reset instead of collecting a 429."""
        if rate.remaining == 0 and rate.reset_s:
            self._resume_at = self.clock() + rate.reset_s

    def _wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self.max_wait_s is not None and seconds > self.max_wait_s:
            raise PreviewRateLimited(f"MEGA's rate limit for bulk calls is spent; try again in "
                                     f"{int(seconds) + 1} s")
        self.sleep(seconds)
