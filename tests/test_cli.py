"""The README's run command: `leadgate dev` starts everything and its printed curl works."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bench.harness import free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(90)
def test_dev_runs_everything_and_the_printed_curl_makes_a_lead(tmp_path: Path) -> None:
    port, sim_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "LEADGATE_CONFIG", "MEGA_BASE_URL")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "dev", "--port", str(port),
         "--megasim-port", str(sim_port)],
        cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/readyz")
        wait_for(f"http://127.0.0.1:{sim_port}/_megasim/stats")
        curl, banner = _printed_curl(proc)
        response = httpx.post(curl["url"], content=curl["data"],
                              headers={"Content-Type": "application/json"})
        assert response.status_code == 202
        leads: list[dict[str, str]] = []
        deadline = time.monotonic() + 15
        while not leads and time.monotonic() < deadline:
            time.sleep(0.3)
            leads = httpx.get(f"http://127.0.0.1:{sim_port}/_megasim/leads").json()["leads"]
        assert [lead["contact_email"] for lead in leads] == ["ada@example.com"]
        routes = sorted(set(re.findall(r"/hooks/(demo-[a-z]+)", banner)))
        assert len(routes) == 11, routes          # one demo route per provider
        for route in routes:
            sent = subprocess.run(
                [sys.executable, "-m", "gateway.cli", "send-sample", route,
                 "--url", f"http://127.0.0.1:{port}"], cwd=tmp_path, capture_output=True,
                text=True, env={**env, "PYTHONPATH": str(ROOT)}, timeout=30)
            assert sent.returncode == 0, (route, sent.stdout, sent.stderr)
        while len(leads) < 12 and time.monotonic() < deadline + 30:
            time.sleep(0.3)
            leads = httpx.get(f"http://127.0.0.1:{sim_port}/_megasim/leads").json()["leads"]
        platforms = sorted(str(lead.get("source_platform")) for lead in leads)
        assert len(leads) == 12 and platforms.count("meta_ads") == 1, leads
        assert (tmp_path / ".leadgate" / "redis" / "appendonly.aof").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=40)
    assert proc.returncode == 0
    assert "leadgate dev stopped" in out


def _printed_curl(proc: subprocess.Popen[str]) -> tuple[dict[str, str], str]:
    """Read the dev banner up to its curl and pull out the URL and the body."""
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line.rstrip("\\\n").strip())
        if line.strip().startswith("-d "):
            break
    command = " ".join(lines[next(i for i, text in enumerate(lines) if text.startswith("curl")):])
    words = shlex.split(command)
    url = next(w for w in words if w.startswith("http"))
    data = words[words.index("-d") + 1]
    assert re.match(r"http://127\.0\.0\.1:\d+/hooks/", url)
    return {"url": url, "data": data}, "\n".join(lines)
