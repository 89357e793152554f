"""Every Redis key leadgate uses. One prefix, one style: prefix:kind[:name]. The Lua scripts
are in gateway/store/lua/ (gateway/store/scripts.py loads them).

Operators' scripts rely on these names; tests pin them. The records' fields, typed:
gateway/domain/event.py (Event) and gateway/domain/records.py (CustomerState, Batch, SentRequest).

    {p}:event:{event_id}    hash   one accepted event: status, lead, outcome..., its last MEGA
                                   calls (`log`); kept compact (listpack): a value over 64 bytes
                                   is stored as 64-byte chunks (lua/event_fields.lua); deleted
                                   when it compacts to a tombstone
    {p}:compact             zset   event id -> when it became terminal (ms): to be compacted
    {p}:tombstones          zset   day -> day: the days (ms // 86,400,000) whose tombstone
                                   buckets may exist (the dedup check reads only those)
    {p}:tombstones:{day}:{xx}  hash  compacted events whose dedup TTL ends that day, by the
                                   first two hex digits of their id: packed id -> packed
                                   tombstone (records.TOMBSTONE_FIELDS; lua/tombstone.lua); the
                                   bucket expires at the day's end
    {p}:buffer:{customer}   list   event ids waiting for a flush, in arrival order
    {p}:batch:{customer}    hash   the customer's frozen in-flight batch (ids, body, key)
    {p}:customer:{customer} hash   hold/pause state, rate-limit budget, counters
    {p}:due                 zset   customer -> when its next flush is due (ms)
    {p}:leases              zset   customer -> when the running flush's lease ends (ms)
    {p}:lease-owners        hash   customer -> token of the flush holding the lease
    {p}:dead                zset   event id -> when it became a dead letter (ms)
    {p}:metrics             hash   Prometheus counters and histogram buckets of all processes
    {p}:ack-mark            string  when an intake connection last wrote only to be sure that
                                   server.ack's WAIT covers a duplicate's earlier write (ms)
    {p}:parked:{customer}:{route}  list  event ids held while the route's credentials fail
    {p}:events              zset   event id -> when it was received (ms): the console's list
    {p}:contacts:{day}:{xx}  hash  contact search: the events received that day (ms //
                                   86,400,000), by HMAC digest of a normalized email or phone
                                   (never the contact itself): digest's hex digits 3-14 ->
                                   packed event ids; bucketed by the digest's first two hex
                                   digits; expires when its last event leaves the index.
                                   A field holds a contact's first events of the day (up to
                                   64 bytes: the bucket stays a listpack); field + "+" counts
                                   its events past defaults.CONTACT_DAY_LIMIT, not indexed
    {p}:contacts:{day}:{xx}:{rest}  string  the same contact's further events of the day,
                                   appended (packed ids, at most CONTACT_DAY_LIMIT in all);
                                   {rest}: the field above; expires with its bucket
    {p}:contact:{digest}    zset   event id -> received (ms): the same, for older records
    {p}:attempts:{event_id} list   the event's last MEGA calls (JSON): older records only (now
                                   the event's `log` field); deleted when the event compacts
    {p}:metrics:{size}s:{start}  hash  the counters of one time window (last hour / 24 h)
    {p}:signin-failures:{digest}  string  failed console sign-ins of one client (keyed hash of
                                   its address)
    {p}:console-session:{digest}  hash  one console sign-in (expiry, last search), by a digest
                                   of its random id; expires with it, deleted at sign-out
    {p}:replays:{customer}  list   replayed dead letters, each a JSON batch (frozen, or ids)
    {p}:request:{key}       hash   a sent request that ended in dead letters (endpoint, body,
                                   ids, key_since), kept while MEGA keeps its key, for replays
    {p}:reconcile:{route}   hash   a Meta route's reconciliation: watermarks, counts, backoff
    {p}:reconcile-lock:{route}  string  token of the worker reconciling the route (expires)
    {p}:source-health       hash   route -> JSON of its last source-health check
    {p}:google-match:{route}  zset  a Google route's webhook leads by submission time (s):
                                   "event id|form|gclid digest|contact digests" (never a
                                   contact), for reconciliation's matching
                                   (gateway/store/google_match.py)
    {p}:alerts:state        hash   alert kind:subject -> firing (absent: not firing)
    {p}:alerts:marks        hash   what the alert evaluator last saw (dead letter counts, times)
    {p}:alerts:pending      zset   alert delivery id -> when it is due (ms; a lease while sent)
    {p}:alert:{delivery_id} hash   one alert to one target: body, attempts
    {p}:imports             zset   import id -> when it started (ms)
    {p}:import:{id}         hash   one CSV import: customer, options, counts, status
    {p}:import:{id}:{part}  set/list  its rows' event ids (`ids`), keyed contact digests
                                   (`contacts`), ids not yet terminal (`pending`), failed rows
                                   as JSON {row, reason} (`errors`), unknown custom fields
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway import defaults


@dataclass(frozen=True)
class Keys:
    """Every Redis key name leadgate uses, under one prefix."""

    prefix: str = defaults.KEY_PREFIX

    def event(self, event_id: str) -> str:
        return f"{self.prefix}:event:{event_id}"

    def buffer(self, customer: str) -> str:
        return f"{self.prefix}:buffer:{customer}"

    def batch(self, customer: str) -> str:
        return f"{self.prefix}:batch:{customer}"

    def customer(self, customer: str) -> str:
        return f"{self.prefix}:customer:{customer}"

    @property
    def due(self) -> str:
        return f"{self.prefix}:due"

    @property
    def leases(self) -> str:
        return f"{self.prefix}:leases"

    @property
    def owners(self) -> str:
        return f"{self.prefix}:lease-owners"

    @property
    def dead(self) -> str:
        return f"{self.prefix}:dead"

    def parked(self, customer: str, route: str) -> str:
        return f"{self.prefix}:parked:{customer}:{route}"

    def replays(self, customer: str) -> str:
        return f"{self.prefix}:replays:{customer}"

    def request(self, key: str) -> str:
        return f"{self.prefix}:request:{key}"

    @property
    def metrics(self) -> str:
        return f"{self.prefix}:metrics"

    @property
    def ack_mark(self) -> str:
        return f"{self.prefix}:ack-mark"

    @property
    def events(self) -> str:
        return f"{self.prefix}:events"

    def contact(self, digest: str) -> str:
        return f"{self.prefix}:contact:{digest}"

    def contacts(self, day: int, part: str) -> str:
        return f"{self.prefix}:contacts:{day}:{part}"

    def contacts_more(self, day: int, digest: str) -> str:
        return f"{self.contacts(day, digest[:2])}:{digest[2:14]}"

    @property
    def tombstones(self) -> str:
        return f"{self.prefix}:tombstones"

    def tombstone_bucket(self, day: int, part: str) -> str:
        return f"{self.tombstones}:{day}:{part}"

    @property
    def compact(self) -> str:
        return f"{self.prefix}:compact"

    def attempts(self, event_id: str) -> str:
        return f"{self.prefix}:attempts:{event_id}"

    def metrics_window(self, size_s: int, start: int) -> str:
        return f"{self.prefix}:metrics:{size_s}s:{start}"

    def signin_failures(self, digest: str) -> str:
        return f"{self.prefix}:signin-failures:{digest}"

    def console_session(self, digest: str) -> str:
        return f"{self.prefix}:console-session:{digest}"

    def reconcile(self, route: str) -> str:
        return f"{self.prefix}:reconcile:{route}"

    def reconcile_lock(self, route: str) -> str:
        return f"{self.prefix}:reconcile-lock:{route}"

    def google_match(self, route: str) -> str:
        return f"{self.prefix}:google-match:{route}"

    @property
    def source_health(self) -> str:
        return f"{self.prefix}:source-health"

    @property
    def alert_state(self) -> str:
        return f"{self.prefix}:alerts:state"

    @property
    def alert_marks(self) -> str:
        return f"{self.prefix}:alerts:marks"

    @property
    def alerts_pending(self) -> str:
        return f"{self.prefix}:alerts:pending"

    def alert(self, delivery_id: str) -> str:
        return f"{self.prefix}:alert:{delivery_id}"

    @property
    def imports(self) -> str:
        return f"{self.prefix}:imports"

    def import_(self, import_id: str, part: str = "") -> str:
        return f"{self.prefix}:import:{import_id}" + (f":{part}" if part else "")
