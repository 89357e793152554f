"""The chaos run, small: web, workers and megasim as processes, faults, SIGKILLed workers."""

from __future__ import annotations

import pytest

from bench.chaos import run


@pytest.mark.timeout(240)
def test_chaos_loses_and_duplicates_nothing() -> None:
    result = run(600, customers=4, workers=2, kill_every_s=1.0, timeout_s=180)
    assert result.kills >= 1 and result.bursts >= 1, result.table()
    assert sum(v for k, v in result.mega.items() if k != "200" and k != "201") >= 1
    assert (result.lost, result.duplicated, result.dead, result.not_terminal,
            result.in_progress) == (0, 0, 0, 0, 0), result.table()
    assert result.leads == 600
