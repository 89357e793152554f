"""One Google reconciliation run against megasim: which matching rule found the webhook leads.

megasim's Google makes N submissions and posts their webhooks to a leadgate route over real
HTTP, dropping a share, under lead_ids that differ from the API's ids (so the id rule cannot
match) unless --same-ids, some without gcl_id. One reconciliation then lists them all; the run
prints how often each rule matched, what was recovered, and the lookup's Redis bytes per
entry (a webhook lead, or a lead reconciliation stored).

    .venv/bin/python -m bench.google_reconcile --leads 500 --drop 0.1 --no-gclid 0.2
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import redis
from werkzeug.serving import make_server

from bench.harness import free_port
from gateway.config import config_from_dict
from gateway.local.redis_server import RedisServer
from gateway.store.index import Index
from gateway.store.store import Store
from gateway.web.app import create_app
from megasim import google as sim
from megasim.app import create_app as create_megasim
from workers.reconcile import Reconciler

ENV = {"GADS_DEV": sim.DEMO_DEVELOPER_TOKEN, "GADS_CLIENT": sim.DEMO_CLIENT_ID,
       "GADS_SECRET": sim.DEMO_CLIENT_SECRET, "GADS_REFRESH": sim.DEMO_REFRESH_TOKEN}
KEY = "bench-google-key-0123456789"


def serve(app: Any) -> tuple[str, Any]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def config_for(redis_url: str, sim_url: str) -> Any:
    return config_from_dict({
        "server": {"admin_token": "bench-admin-token-0123456789abcdef"},
        "mega": {"base_url": sim_url},
        "customers": {"acme": {"customer_id": "5f0c6a3e-9d1b-4c2a-8e7f-0a1b2c3d4e5f",
                               "token": "mega_" + "d3e0" * 16}},
        "routes": {"g": {"customer": "acme", "source": "google_lead_forms", "google_key": KEY,
                         "ads_customer_id": sim.DEMO_CUSTOMER_ID,
                         "login_customer_id": sim.DEMO_MANAGER_ID,
                         "developer_token": "${GADS_DEV}", "oauth_client_id": "${GADS_CLIENT}",
                         "oauth_client_secret": "${GADS_SECRET}",
                         "oauth_refresh_token": "${GADS_REFRESH}", "reconcile_grace_s": 0,
                         "ads_api_url": f"{sim_url}/google/ads/v21",
                         "oauth_token_url": f"{sim_url}/google/token"}}},
        env={**ENV, "REDIS_URL": redis_url})


def run(args: argparse.Namespace, redis_url: str) -> None:
    sim_url, sim_server = serve(create_megasim(seed=1))
    config = config_for(redis_url, sim_url)
    web_url, web_server = serve(create_app(config))
    httpx.patch(f"{sim_url}/_google", json={"webhook": {
        "url": f"{web_url}/hooks/g", "google_key": KEY, "drop": args.drop, "seed": args.seed,
        "distinct_ids": not args.same_ids, "no_gclid": args.no_gclid}}).raise_for_status()
    made = httpx.post(f"{sim_url}/_google/leads", timeout=600, json={
        "count": args.leads, "submitted": time.time() - 600}).json()
    client = redis.Redis.from_url(redis_url)
    store = Store(client, index=Index.from_config(config))
    reconciler = Reconciler(config, store)
    found = reconciler.run(config.routes["g"])
    reconciler.close()
    assert found is not None
    lookup = client.memory_usage("leadgate:google-match:g") or 0
    ids = "equal to" if args.same_ids else "unlike"
    print(f"{args.leads} submissions, {len(made['dropped'])} webhooks dropped, API ids {ids} "
          f"lead_ids, {args.no_gclid:.0%} of webhooks without gcl_id")
    print(f"listed {found.seen}: matched by id {found.rules['id']}, by form+gclid+time "
          f"{found.rules['gclid']}, by contact+form+time {found.rules['contact']}; "
          f"missed by webhook (delivered via reconcile) {found.new}")
    kept, entries = args.leads - len(made["dropped"]), client.zcard("leadgate:google-match:g")
    print(f"match lookup: {lookup} bytes for {entries} entries ({kept} webhook leads, "
          f"{entries - kept} stored by reconciliation; {lookup / max(1, entries):.0f} B each)")
    store.close()
    web_server.shutdown()
    sim_server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=500)
    parser.add_argument("--drop", type=float, default=0.1)
    parser.add_argument("--no-gclid", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--same-ids", action="store_true", help="API ids equal webhook lead_ids")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp), port=free_port(), persistent=False)
        try:
            run(args, server.start())
        finally:
            server.stop()


if __name__ == "__main__":
    main()
