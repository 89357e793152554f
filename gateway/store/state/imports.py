"""CSV imports' records in Redis (gateway/imports/record.py says what they mean): per import a
hash of options, counts and status, and sets and lists of its rows' ids, contacts, pending
events, failed rows and unknown custom fields (gateway/store/keys.py: import, imports)."""

from __future__ import annotations

import json
from typing import Any

from gateway import defaults
from gateway.store.keys import Keys
from gateway.store.scripts import register

PARTS = ("ids", "contacts", "pending", "errors")      # a chunk writes these, and the hash


class ImportRecords:
    """The Redis side of imports: each method one round trip (a tally: one per 1,000 rows)."""

    def __init__(self, client: Any, keys: Keys):
        self.redis, self.keys = client, keys
        self._rows = register(client, "import_rows")
        self._tally = register(client, "import_tally")
        self._set_live = register(client, "session_set")    # a field of a live hash

    def create(self, import_id: str, fields: dict[str, Any], started_ms: int, ttl_s: int) -> None:
        """A new import's hash, listed in `imports`; it expires after ttl_s."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.keys.import_(import_id), mapping=fields)
        pipe.expire(self.keys.import_(import_id), ttl_s)
        pipe.zadd(self.keys.imports, {import_id: started_ms})
        pipe.execute()

    def rows_seen(self, import_id: str, rows: list[str]) -> list[int]:
        """Per row (id, contact digest, contact digest): 0 new, 1 same id, 2 same contact as an
        earlier row of the import (the import_rows script)."""
        if not rows:
            return []
        return list(self._rows(keys=[self.keys.import_(import_id, "ids"),
                                     self.keys.import_(import_id, "contacts")], args=rows))

    def add_chunk(self, import_id: str, queued: list[str], errors: list[str],
                  counts: dict[str, int], ttl_s: int) -> None:
        """A chunk's queued event ids, failed rows (the first IMPORT_ERRORS_KEPT kept) and
        counts, in one transaction."""
        k = self.keys
        pipe = self.redis.pipeline(transaction=True)
        if queued:
            pipe.sadd(k.import_(import_id, "pending"), *queued)
        if errors:
            pipe.rpush(k.import_(import_id, "errors"), *errors)
            pipe.ltrim(k.import_(import_id, "errors"), 0, defaults.IMPORT_ERRORS_KEPT - 1)
        for name, n in counts.items():
            if n:
                pipe.hincrby(k.import_(import_id), name, n)
        for part in PARTS:
            pipe.expire(k.import_(import_id, part), ttl_s)
        pipe.execute()

    def save_report(self, import_id: str, report: dict[str, Any], beat_ms: int,
                    ttl_s: int) -> None:
        """A dry run's report and heartbeat; the record expires after ttl_s."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.keys.import_(import_id), mapping={
            "report": json.dumps(report), "heartbeat": beat_ms})
        pipe.expire(self.keys.import_(import_id), ttl_s)
        pipe.execute()

    def update(self, import_id: str, fields: dict[str, Any]) -> None:
        """Set fields of the import's hash."""
        self.redis.hset(self.keys.import_(import_id), mapping=fields)

    def beat(self, import_id: str, at_ms: int) -> None:
        """The reader's heartbeat, on a live record only (a gone one is not brought back)."""
        self._set_live(keys=[self.keys.import_(import_id)], args=["heartbeat", at_ms])

    def read_done(self, import_id: str) -> None:
        """Drop the contacts (no more rows come) and mark the import delivering."""
        self.redis.delete(self.keys.import_(import_id, "contacts"))
        self.redis.hset(self.keys.import_(import_id), "status", "delivering")

    def fields(self, import_id: str) -> dict[str, str]:
        """The import's hash ({} when there is no such import)."""
        return {a.decode(): b.decode()
                for a, b in self.redis.hgetall(self.keys.import_(import_id)).items()}

    def count(self, import_id: str, name: str) -> int:
        """One of the import's counts."""
        return int(self.redis.hget(self.keys.import_(import_id), name) or 0)

    def tally(self, import_id: str, now_ms: int, ttl_s: int) -> int:
        """Count the rows that became terminal since the last look (import_tally); an import
        delivering with none pending is done. How many are still pending."""
        k, cursor, pending = self.keys, 0, 0
        keys = [k.import_(import_id), k.import_(import_id, "pending"),
                k.import_(import_id, "errors"), k.import_(import_id, "unknown"), k.tombstones]
        while True:
            cursor, pending = self._tally(keys=keys, args=[k.event(""), cursor, 1000, now_ms])
            self.redis.ltrim(keys[2], 0, defaults.IMPORT_ERRORS_KEPT - 1)
            if int(cursor) == 0:
                break
        if not pending and self.redis.hget(keys[0], "status") == b"delivering":
            self.redis.hset(keys[0], "status", "done")
            self.redis.expire(keys[3], ttl_s)
        return int(pending)

    def errors(self, import_id: str, limit: int = -1) -> list[dict[str, Any]]:
        """The failed rows kept, {row, reason}, the first `limit` (-1: all)."""
        raw = self.redis.lrange(self.keys.import_(import_id, "errors"), 0,
                                limit - 1 if limit >= 0 else -1)
        return [json.loads(e) for e in raw]

    def unknown_fields(self, import_id: str) -> list[str]:
        """The custom fields MEGA did not know, sorted."""
        return sorted(u.decode() for u in self.redis.smembers(
            self.keys.import_(import_id, "unknown")))
