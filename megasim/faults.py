"""Fault injection: random rates and a deterministic script of what the next requests meet.

Fault names:
  error             500 before anything is written
  commit_then_fail  the write happens, the answer is a 503 (what idempotency keys exist for)
  drop              the connection is closed before anything is written, no answer
  drop_after_commit the write happens, then the connection is closed
  slow              the write happens, then the answer waits `slow_ms` (a client timeout)
  trickle           the write happens, then the answer trickles in over `trickle_ms`, a byte
                    at a time (per-phase timeouts never trip); the key stays in progress
  html_after_commit the write happens, the answer is a 200 with an HTML body
  400 401 403 409 429 500 503   that status, with MEGA's error shape, nothing written
  ok                no fault
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

FAULT_NAMES = frozenset({
    "error", "commit_then_fail", "drop", "drop_after_commit", "slow", "ok", "trickle",
    "html_after_commit",
    "400", "401", "403", "409", "429", "500", "503",
})
RATE_FIELDS = ("error_rate", "commit_then_fail_rate", "drop_rate", "slow_rate", "trickle_rate")
RATE_FAULTS = {"error_rate": "error", "commit_then_fail_rate": "commit_then_fail",
               "drop_rate": "drop", "slow_rate": "slow", "trickle_rate": "trickle"}


@dataclass
class FaultSettings:
    error_rate: float = 0.0
    commit_then_fail_rate: float = 0.0
    drop_rate: float = 0.0
    slow_rate: float = 0.0
    trickle_rate: float = 0.0
    slow_ms: int = 3000
    trickle_ms: int = 3000
    latency_ms: int = 0
    reject_containing: str = ""        # any request whose body holds this string gets a 400
    script: list[str] = field(default_factory=list)

    def validate(self) -> None:
        """Raise ValueError on a setting out of range."""
        for name in RATE_FIELDS:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if min(self.slow_ms, self.trickle_ms, self.latency_ms) < 0:
            raise ValueError("slow_ms, trickle_ms and latency_ms must be >= 0")
        unknown = [s for s in self.script if s not in FAULT_NAMES]
        if unknown:
            raise ValueError(f"unknown fault(s) in script: {', '.join(unknown)}")


class Faults:
    """Thread-safe holder of the fault settings; draws the fault for each request."""

    def __init__(self, settings: FaultSettings | None = None, *, seed: int | None = None):
        self._settings = settings or FaultSettings()
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def snapshot(self) -> dict[str, Any]:
        """The fault settings in force."""
        with self._lock:
            return asdict(self._settings)

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply a partial update; unknown keys or bad values raise ValueError."""
        with self._lock:
            merged = {**asdict(self._settings), **changes}
            if unknown := sorted(set(merged) - set(asdict(self._settings))):
                raise ValueError(f"unknown fault setting(s): {', '.join(unknown)} (known: "
                                 f"{', '.join(asdict(self._settings))})")
            candidate = FaultSettings(**merged)
            candidate.script = [str(s) for s in candidate.script]
            candidate.validate()
            self._settings = candidate
            return asdict(candidate)

    def draw(self, body: bytes) -> tuple[str, float, float]:
        """The fault for one request, its latency and its post-commit delay (seconds)."""
        with self._lock:
            s = self._settings
            fault = s.script.pop(0) if s.script else self._draw_rate(s)
            if fault == "ok" and s.reject_containing and s.reject_containing.encode() in body:
                fault = "400"
            slow = s.trickle_ms if fault == "trickle" else s.slow_ms
            return fault, s.latency_ms / 1000, slow / 1000

    def _draw_rate(self, s: FaultSettings) -> str:
        roll = self._random.random()
        for name, fault in RATE_FAULTS.items():
            rate = getattr(s, name)
            if roll < rate:
                return fault
            roll -= rate
        return "ok"
