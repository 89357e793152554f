"""Meta enrichment: route-wide Graph failures hold the route; only a missing lead is dropped."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ACME_ID, Sim
from tests.samples import META, hook, signed
from workers.meta.graph import MAX_SINGLE_LOOKUPS, GraphClient, GraphError

ADMIN = {"Authorization": "Bearer test-admin-token-0123456789abcdef"}


def post_meta(client: Any) -> str:
    body, headers = signed("meta_lead_ads", META)
    return client.post(hook("meta_lead_ads"), data=body,  # type: ignore[no-any-return]
                       headers=headers).get_json()["events"][0]


def test_a_permission_error_holds_the_route_and_delivers_once_it_is_back(
        provider_app: tuple[Any, Any], megasim: Sim) -> None:
    client, drain = provider_app
    megasim.graph(denied=True)
    eid = post_meta(client)
    drain.step()
    summary = client.get("/v1/customers/acme", headers=ADMIN).get_json()
    assert summary["state"] == "blocked" and "meta permission" in summary["reason"]
    assert "leads_retrieval" in summary["reason"] and summary["held"] == 1
    assert client.get("/v1/dead-letters", headers=ADMIN).get_json()["total"] == 0
    megasim.graph(denied=False)
    drain(skip_waits=True)
    assert len(megasim.leads(ACME_ID)) == 1
    assert client.get(f"/v1/events/{eid}", headers=ADMIN).get_json()["status"] == "delivered"


def graph_answering(status: int, body: dict[str, Any]) -> tuple[GraphClient, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(status, json=body)

    return GraphClient(timeout_s=1, transport=httpx.MockTransport(handler)), seen


@pytest.mark.parametrize(("status", "code", "kind"), [
    (400, 10, "permission"), (400, 200, "permission"), (403, 299, "permission"),
    (404, None, "permission"), (400, 190, "token"), (400, 102, "token"),
    (400, 80005, "throttled"), (500, 2, "unavailable"),
])
def test_route_wide_graph_errors(status: int, code: int | None, kind: str) -> None:
    graph, _ = graph_answering(status, {"error": {"code": code, "message": "m"}})
    with pytest.raises(GraphError) as info:
        graph.fetch("http://graph.test/v21.0", "t", ["1", "2"])
    assert info.value.kind == kind


def test_code_100_naming_no_id_asks_singly_but_only_a_bounded_number() -> None:
    calls: list[int] = []
    graph, seen = graph_answering(400, {"error": {"code": 100, "message": "unsupported"}})
    ids = [str(i) for i in range(MAX_SINGLE_LOOKUPS + 1)]
    with pytest.raises(GraphError) as info:
        graph.fetch("http://graph.test/v21.0", "t", ids, before_call=lambda: calls.append(1))
    assert info.value.kind == "unavailable" and len(seen) == 1 == len(calls)
    few, seen = graph_answering(400, {"error": {"code": 100, "message": "unsupported"}})
    with pytest.raises(GraphError) as info:           # one id, not named: the route holds
        few.fetch("http://graph.test/v21.0", "t", ids[:3], before_call=lambda: calls.append(1))
    assert info.value.kind == "permission" and len(seen) == 2 and len(calls) == 3
