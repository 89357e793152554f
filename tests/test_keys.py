"""The exact Redis key strings: operators' scripts depend on them."""

from gateway.store.keys import Keys
from gateway.store.store import event_id


def test_key_strings() -> None:
    k = Keys()
    assert k.event("evt_1") == "leadgate:event:evt_1"
    assert k.buffer("acme") == "leadgate:buffer:acme"
    assert k.batch("acme") == "leadgate:batch:acme"
    assert k.customer("acme") == "leadgate:customer:acme"
    assert k.parked("acme", "acme-meta") == "leadgate:parked:acme:acme-meta"
    assert (k.due, k.leases, k.owners, k.dead, k.metrics) == (
        "leadgate:due", "leadgate:leases", "leadgate:lease-owners", "leadgate:dead",
        "leadgate:metrics")
    assert (k.reconcile("m"), k.reconcile_lock("m"), k.source_health) == (
        "leadgate:reconcile:m", "leadgate:reconcile-lock:m", "leadgate:source-health")
    assert (k.alert_state, k.alert_marks, k.alerts_pending, k.alert("alrt_1.slack")) == (
        "leadgate:alerts:state", "leadgate:alerts:marks", "leadgate:alerts:pending",
        "leadgate:alert:alrt_1.slack")
    assert Keys("other").event("x") == "other:event:x"
    assert (k.events, k.contact("ab12"), k.attempts("evt_1")) == (
        "leadgate:events", "leadgate:contact:ab12", "leadgate:attempts:evt_1")
    assert (k.compact, k.ack_mark) == ("leadgate:compact", "leadgate:ack-mark")
    assert (k.tombstones, k.tombstone_bucket(20_500, "0f"), k.contacts(20_500, "ab")) == (
        "leadgate:tombstones", "leadgate:tombstones:20500:0f", "leadgate:contacts:20500:ab")
    assert k.contacts_more(20_500, "ab0123456789abcdef") == \
        "leadgate:contacts:20500:ab:0123456789ab"
    assert k.metrics_window(300, 1_777_636_800) == "leadgate:metrics:300s:1777636800"
    assert (k.history("route", "acme-meta", 20_500), k.history("hours", "", 20_500)) == (
        "leadgate:history:route:20500:acme-meta", "leadgate:history:hours:20500")
    assert k.signin_failures("ab12") == "leadgate:signin-failures:ab12"
    assert k.console_session("ab12") == "leadgate:console-session:ab12"
    assert k.google_match("acme-google") == "leadgate:google-match:acme-google"


def test_event_ids_are_stable_and_scoped() -> None:
    a = event_id("acme", "generic", "123")
    assert a == event_id("acme", "generic", "123") and a.startswith("evt_") and len(a) == 36
    assert a != event_id("globex", "generic", "123") != event_id("acme", "typeform", "123")
