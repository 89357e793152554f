"""The console's read model: events by time, contact search, each event's MEGA calls.

No Redis key holds a contact: an email or phone is normalized exactly as leads are
(gateway/domain/leads.py) and indexed under an HMAC of it, keyed by a server secret. The intake
writes the index inside its one round trip (INGEST); Meta leads, whose contact arrives with the
worker's Graph fetch, are indexed when the enriched lead is stored.

An event costs the index the same whatever its contact's history (keys.py: contact_add): a
contact is found by its first CONTACT_DAY_LIMIT events of each day, and a search reads a day
at a time, in chunks of CONTACT_READ_CHUNK ids, so no Redis call grows with a busy contact.
"""

from __future__ import annotations

import functools
import hmac
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import redis

from gateway import defaults
from gateway.domain.leads import normalize
from gateway.domain.records import DAY_MS, unpack_ids, unpacked
from gateway.encoding import loads
from gateway.store.keys import Keys
from gateway.store.metrics import series
from gateway.store.scripts import register

CONTACT_PURPOSE = b"leadgate contact index v1"
SESSION_PURPOSE = b"leadgate console session v1"
CLIENT_PURPOSE = b"leadgate client address v1"
ENTRY_BYTES = 17            # an event id in a packed list: a zero byte and its 16 bytes
LEFT_OUT = "leadgate_contact_index_left_out"


@functools.lru_cache(maxsize=8)
def server_secret(secret_key: str, admin_token: str) -> bytes | None:
    """`server.secret_key`, else one derived from the admin token (one config var suffices);
    None when both are empty."""
    if secret_key:
        return secret_key.encode()
    if admin_token:
        return hmac.new(admin_token.encode(), b"leadgate server secret", "sha256").digest()
    return None


def derive(secret: bytes, purpose: bytes) -> bytes:
    """A key for one purpose, so the session key never doubles as the index key."""
    return hmac.new(secret, purpose, "sha256").digest()


@dataclass(frozen=True)
class Index:
    """The console's search index: contacts by keyed digest, attempts by event."""

    keys: Keys
    secret: bytes | None        # the contact index key; None: contacts are not indexed
    keep_s: int                 # how long an event stays findable

    @classmethod
    def from_config(cls, config: Any, keys: Keys | None = None) -> Index:
        """The index of a deployment: its secret, kept as long as an event record can live."""
        server = config.server
        secret = server_secret(server.secret_key, server.admin_token)
        keep_s = config.dedup_ttl_s + config.mega.max_age_s
        return cls(keys or Keys(), derive(secret, CONTACT_PURPOSE) if secret else None, keep_s)

    @functools.cached_property
    def _mac(self) -> Any:
        assert self.secret is not None
        return hmac.new(self.secret, digestmod="sha256")

    @functools.cached_property
    def ingest_arg(self) -> str:
        """The extra INGEST argument: where events are listed by time, and for how long."""
        return json.dumps({"events": self.keys.events, "keep_ms": self.keep_s * 1000,
                           "ttl_s": self.keep_s, "cap": defaults.CONTACT_DAY_LIMIT * ENTRY_BYTES,
                           "metrics": self.keys.metrics, "left_out": series(LEFT_OUT)})

    def digest(self, kind: str, value: str) -> str:
        """The HMAC of one normalized contact: all a key name ever holds of it."""
        mac = self._mac.copy()
        mac.update(f"{kind}:{value}".encode())
        return str(mac.hexdigest())[:32]

    def contact_digests(self, lead: dict[str, Any]) -> list[str]:
        """The digests of a normalized lead's email and phone."""
        if self.secret is None:
            return []
        return [self.digest(kind, lead[field])
                for kind, field in (("email", "contact_email"), ("phone", "contact_phone"))
                if lead.get(field)]

    def entry(self, digest: str, received_ms: int) -> list[str]:
        """Where a contact of an event received then goes: [bucket key, field, TTL (s)], the
        bucket of its day kept keep_s past the day (keys.py: contacts, BUCKETS)."""
        day = received_ms // DAY_MS
        return [self.keys.contacts(day, digest[:2]), digest[2:14],
                str(((day + 1) * DAY_MS - received_ms) // 1000 + self.keep_s)]

    def tag(self, records: list[dict[str, Any]]) -> str:
        """Mark each record with its contact entries; the extra INGEST argument."""
        for rec in records:
            if rec.get("lead"):
                rec["_index"] = [self.entry(d, int(rec["received_at"]))
                                 for d in self.contact_digests(loads(rec["lead"]))]
        return self.ingest_arg

    def add_contacts(self, client: redis.Redis, events: Iterable[dict[str, str]],
                     now_ms: int) -> None:
        """Index leads stored after the intake (Meta's, once fetched from the Graph API)."""
        keys, args = [], []
        for event in events:
            for digest in self.contact_digests(json.loads(event.get("lead") or "{}")):
                key, name, ttl = self.entry(digest, int(event.get("received_at") or now_ms))
                keys.append(key)
                args += [name, ttl, event["id"]]
        if keys:
            register(client, "contact_add")(keys=keys, args=[self.ingest_arg, *args])

    def days(self, now_ms: int, top_ms: float = math.inf, low_ms: float = 0) -> list[int]:
        """The days (ms // DAY_MS) a search between low_ms and top_ms looks at, newest first."""
        first = max((now_ms - self.keep_s * 1000) // DAY_MS, int(low_ms) // DAY_MS)
        return list(range(int(min(now_ms, top_ms)) // DAY_MS, first - 1, -1))

    def search(self, client: redis.Redis, digests: list[str], days: list[int]
               ) -> Iterator[list[str]]:
        """The ids of the indexed events with one of these contacts, a day at a time (ids in
        the order they came, a repeat dropped), read only as far as the caller goes."""
        digests = list(dict.fromkeys(digests))
        heads = self._heads(client, digests, days)
        older = self._older(client, digests, days)
        for day in days:
            tails = self._tails(client, day, heads[day])
            ids = [eid for digest, (head, _) in heads[day].items()
                   for eid in unpack_ids(head + tails[digest])]
            yield list(dict.fromkeys(ids + older.get(day, [])))

    def _heads(self, client: redis.Redis, digests: list[str], days: list[int]
               ) -> dict[int, dict[str, tuple[bytes, int]]]:
        """Each day's first entries of each contact (its bucket field) and the size of the
        rest (its own string), in one round trip."""
        pipe = client.pipeline(transaction=False)
        for day in days:
            for digest in digests:
                pipe.hget(self.keys.contacts(day, digest[:2]), digest[2:14])
                pipe.strlen(self.keys.contacts_more(day, digest))
        answers = iter(pipe.execute())
        return {day: {digest: (next(answers) or b"", int(next(answers))) for digest in digests}
                for day in days}

    def _tails(self, client: redis.Redis, day: int, heads: dict[str, tuple[bytes, int]]
               ) -> dict[str, bytes]:
        """The rest of each contact's entries that day, read CONTACT_READ_CHUNK ids a call."""
        step = defaults.CONTACT_READ_CHUNK * ENTRY_BYTES
        pipe = client.pipeline(transaction=False)
        for digest, (_, size) in heads.items():
            for start in range(0, size, step):
                pipe.getrange(self.keys.contacts_more(day, digest), start, start + step - 1)
        chunks = iter(pipe.execute() if len(pipe) else [])
        return {digest: b"".join(next(chunks) for _ in range(0, size, step))
                for digest, (_, size) in heads.items()}

    def _older(self, client: redis.Redis, digests: list[str], days: list[int]
               ) -> dict[int, list[str]]:
        """The per-contact sets of older records, by day (their newest CONSOLE_SCAN_LIMIT)."""
        if not days:
            return {}
        pipe = client.pipeline(transaction=False)
        for digest in digests:
            pipe.zrevrangebyscore(self.keys.contact(digest), (days[0] + 1) * DAY_MS - 1,
                                  days[-1] * DAY_MS, start=0, num=defaults.CONSOLE_SCAN_LIMIT,
                                  withscores=True)
        found: dict[int, list[str]] = defaultdict(list)
        for answer in pipe.execute():
            for eid, at in answer:
                found[int(at) // DAY_MS].append(eid.decode())
        return found

    def left_out(self, client: redis.Redis, digests: list[str], days: list[int]
                 ) -> dict[int, int]:
        """The days on which these contacts had more events than CONTACT_DAY_LIMIT: how many
        were left out of the index (the most of any one contact)."""
        digests = list(dict.fromkeys(digests))
        pipe = client.pipeline(transaction=False)
        for day in days:
            for digest in digests:
                pipe.hget(self.keys.contacts(day, digest[:2]), digest[2:14] + "+")
        answers = iter(pipe.execute())
        counts = {day: max((int(next(answers) or 0) for _ in digests), default=0)
                  for day in days}
        return {day: n for day, n in counts.items() if n}

    def query_digests(self, q: str, regions: Iterable[str]) -> list[str]:
        """The digests a search for q looks up: q read as an email, or as a phone in any of
        the routes' regions."""
        if self.secret is None:
            return []
        lead, _ = normalize({"contact_email": q}, defaults.DEFAULT_REGION)
        found = [self.digest("email", lead["contact_email"])] if lead.get("contact_email") \
            else []
        for region in sorted(set(regions) | {defaults.DEFAULT_REGION}):
            phone, _ = normalize({"contact_phone": q}, region)
            if phone.get("contact_phone"):
                digest = self.digest("phone", phone["contact_phone"])
                found += [digest] if digest not in found else []
        return found

    def attempt(self, client: redis.Redis, ids: Iterable[str], entry: dict[str, Any]) -> None:
        """Note one MEGA call (or a replay; `at` in ms) on each event's timeline (its `log`
        field), the last few kept."""
        if keys := [self.keys.event(eid) for eid in ids]:
            register(client, "attempt_log")(
                keys=keys, args=[json.dumps(entry, separators=(",", ":")),
                                 defaults.ATTEMPT_LOG_SIZE])

    def attempts(self, client: redis.Redis, eid: str) -> list[dict[str, Any]]:
        """The event's last MEGA calls, oldest first (a record from before the `log` field:
        its own list)."""
        pipe = client.pipeline(transaction=False)
        pipe.hgetall(self.keys.event(eid))
        pipe.lrange(self.keys.attempts(eid), 0, -1)
        raw, old = pipe.execute()
        lines = old + [line for line in unpacked(raw).get("log", "").split("\n") if line]
        return [json.loads(line) for line in lines]


def hashed(text: str, key: bytes) -> str:
    """A short keyed digest of a value (a client address) that may name a key or be logged but
    not reveal the value: without the key, trying every address back gets nowhere."""
    return hmac.new(key, text.encode(), "sha256").hexdigest()[:16]
