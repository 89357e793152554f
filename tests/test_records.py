"""leadgate's records read back from their stored forms (gateway/domain/records.py): packed
ids, tombstones, chunked event hashes, the customer's state and the batch."""

from __future__ import annotations

import uuid

import pytest

from gateway.domain.records import (
    Batch,
    CustomerState,
    MalformedBatch,
    SentRequest,
    packed_id,
    state_field,
    tombstone,
    unpack_ids,
    unpacked,
)

HEX = "00112233445566778899aabbccddeeff"


def test_an_event_id_packs_to_its_16_bytes_and_a_foreign_id_stays_whole() -> None:
    assert packed_id(f"evt_{HEX}") == (bytes.fromhex(HEX), "00")
    assert packed_id("evt_short") == (b"evt_short", "_")


def test_a_packed_list_reads_back_both_kinds_of_id() -> None:
    ours, _ = packed_id(f"evt_{HEX}")
    value = b"\0" + ours + bytes([len(b"legacy-1")]) + b"legacy-1" + b"\0" + ours
    assert unpack_ids(value) == [f"evt_{HEX}", "legacy-1", f"evt_{HEX}"]
    assert unpack_ids(b"") == []


def b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


def test_a_tombstone_gives_the_fields_a_compacted_event_keeps() -> None:
    lead = uuid.UUID("12345678-1234-5678-1234-567812345678")
    rest = "\x1f".join(["d", "c", "acme", "acme-form", "generic", b36(1_000_000), b36(500),
                        b36(86_400_000), "prov-7"])
    fields = tombstone("evt_1", b"\1" + lead.bytes + b"\x1f" + rest.encode())
    assert fields == {"id": "evt_1", "status": "delivered", "customer": "acme",
                      "route": "acme-form", "source": "generic", "provider_id": "prov-7",
                      "received_at": "1000000", "finished_at": "1000500",
                      "lead_id": str(lead), "outcome": "created",
                      "compacted": str(1_000_500 + 86_400_000)}


def test_a_tombstone_with_a_text_lead_id_and_missing_parts_leaves_them_out() -> None:
    fields = tombstone("evt_2", b"L-9\x1fx\x1f\x1facme")
    assert fields == {"id": "evt_2", "status": "x", "customer": "acme", "received_at": "0",
                      "lead_id": "L-9", "compacted": "0"}


def test_an_event_hash_reads_with_long_names_and_chunks_joined() -> None:
    raw = {b"c": b"acme", b"L": b"\x003", b"L~1": b'{"a":', b"L~2": b"1", b"L~3": b"}",
           b"status": b"pending", b"x": b"\xffbad"}
    assert unpacked(raw) == {"customer": "acme", "lead": '{"a":1}', "status": "pending",
                             "error": "\ufffdbad"}


def test_a_value_that_only_looks_chunked_is_kept_as_it_is() -> None:
    assert unpacked({b"L": b"\x00x"}) == {"lead": "\x00x"}


def test_the_customer_state_reads_holds_parked_routes_and_the_rate_budget() -> None:
    state = CustomerState.from_hash({
        "hold_until": "17", "hold_reason": "rate_limited", "delivered": "4", "dead": "",
        "parked:meta-1": "99", "parked_reason:meta-1": "token_invalid",
        "rl:bulk:remaining": "12", "rl:bulk:reset_at": "5000"})
    assert (state.hold_until, state.hold_reason, state.delivered, state.dead) == \
        (17, "rate_limited", 4, 0)
    assert state.parked == {"meta-1": (99, "token_invalid")}
    assert state.rate == {"bulk": ("12", 5000)}
    assert CustomerState.from_hash({}) == CustomerState()


def test_only_known_state_fields_are_written() -> None:
    assert state_field("blocked") == "blocked"
    assert state_field("rl:single:remaining") == "rl:single:remaining"
    with pytest.raises(ValueError, match="not a customer-state field: bloked"):
        state_field("bloked")


def test_a_batch_reads_back_from_its_hash() -> None:
    batch = Batch.from_hash({b"ids": b"evt_1,evt_2", b"created": b"10", b"attempts": b"2",
                             b"endpoint": b"bulk", b"key": b"lgb-1", b"body": b"{}",
                             b"key_since": b"7", b"new_key": b"1"})
    assert batch == Batch(["evt_1", "evt_2"], 10, 2, "bulk", "lgb-1", b"{}", key_since=7,
                          new_key=True)


@pytest.mark.parametrize(("raw", "ids", "created"), [
    ({b"ids": b"evt_1", b"created": b"x"}, ["evt_1"], None),
    ({b"ids": b"", b"created": b"3"}, [], 3),
    ({b"ids": b"evt_1", b"created": b"3", b"attempts": b"two"}, ["evt_1"], 3)])
def test_a_malformed_batch_says_what_could_be_read(raw: dict[bytes, bytes], ids: list[str],
                                                  created: int | None) -> None:
    with pytest.raises(MalformedBatch) as caught:
        Batch.from_hash(raw)
    assert (caught.value.ids, caught.value.created) == (ids, created)


def test_a_sent_request_past_retention_or_unreadable_is_none() -> None:
    raw = {b"endpoint": b"bulk", b"key": b"k", b"body": b"{}", b"ids": b"a,b",
           b"key_since": b"3"}
    assert SentRequest.from_hash(raw) == SentRequest("bulk", "k", b"{}", ["a", "b"], 3)
    assert SentRequest.from_hash({}) is None
    assert SentRequest.from_hash({**raw, b"key_since": b"soon"}) is None
