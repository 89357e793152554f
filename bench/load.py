"""A small HTTP load generator: keep-alive connections in several processes, closed loop
(as fast as answers come) or open loop (a fixed rate, latency measured from the moment each
request was due, so a stall is not hidden)."""

from __future__ import annotations

import http.client
import multiprocessing as mp
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

Request = tuple[str, bytes, dict[str, str]]      # path, body, headers
Maker = Callable[[int, int], Request]            # (process, sequence) -> request


@dataclass
class Stats:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


def _worker(base: str, make: Maker, index: int, connections: int, seconds: float,
            rate: float | None, out: mp.Queue) -> None:       # type: ignore[type-arg]
    import threading

    url = urlsplit(base)
    results: list[tuple[int, list[float]]] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def loop(thread: int) -> None:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        errors, latencies, seq = 0, [], 0
        interval = connections / rate if rate else 0.0
        due = start + (thread / connections) * interval
        while True:
            now = time.perf_counter()
            if rate:
                if due > now:
                    time.sleep(due - now)
                sent_at = due
                due += interval
            else:
                sent_at = now
            if sent_at - start > seconds:
                break
            path, body, headers = make(index * 1000 + thread, seq)
            seq += 1
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status >= 300:
                    errors += 1
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
            latencies.append((time.perf_counter() - sent_at) * 1000)
        with lock:
            results.append((errors, latencies))
        conn.close()

    threads = [threading.Thread(target=loop, args=(t,)) for t in range(connections)]
    time.sleep(max(0.0, start - time.perf_counter()))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put((sum(e for e, _ in results), [x for _, lat in results for x in lat]))


def run(base: str, make: Maker, *, seconds: float = 10.0, processes: int = 2,
        connections: int = 8, rate: float | None = None) -> Stats:
    """connections per process; rate (requests/s in all) makes it an open loop."""
    out: mp.Queue = mp.Queue()                                 # type: ignore[type-arg]
    per_process_rate = rate / processes if rate else None
    procs = [mp.Process(target=_worker, args=(base, make, i, connections, seconds,
                                              per_process_rate, out)) for i in range(processes)]
    for proc in procs:
        proc.start()
    errors, latencies = 0, []
    for _ in procs:
        e, lat = out.get()
        errors += e
        latencies += lat
    for proc in procs:
        proc.join()
    return Stats(len(latencies), errors, seconds, latencies)
