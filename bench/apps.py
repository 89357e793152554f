"""The references leadgate's intake is measured against, served by the same gunicorn."""

from __future__ import annotations

import json
import os

import redis
from flask import Flask, request
from rq import Queue

bare = Flask("bare")


@bare.post("/hooks/<route>/<token>")
def bare_hook(route: str, token: str) -> tuple[str, int]:
    """Reads the body and answers 202: the floor any Flask receiver stands on."""
    request.get_data()
    return "", 202


ping = Flask("ping")
_redis = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://"))


@ping.post("/hooks/<route>/<token>")
def ping_hook(route: str, token: str) -> tuple[str, int]:
    """The bare app plus one Redis round trip (a PING): the floor of any receiver that stores
    a webhook in Redis before answering."""
    request.get_data()
    _redis.ping()
    return "", 202


rq_receiver = Flask("rq_receiver")
_queue = Queue("bench-rq", connection=_redis)


@rq_receiver.post("/hooks/<route>/<token>")
def rq_hook(route: str, token: str) -> tuple[str, int]:
    """The straightforward receiver: parse, enqueue one RQ job per webhook, answer 202."""
    _queue.enqueue("bench.apps.deliver", json.loads(request.get_data()))
    return "", 202


def deliver(payload: dict[str, object]) -> None:
    """The job the RQ receiver enqueues (never run in the benchmark)."""
