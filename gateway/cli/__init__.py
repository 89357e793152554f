"""The `leadgate` command: one click group (common.py), its commands by group: the
processes (serve.py), a route's setup (routes.py), status (status.py), dead letters
(dlq.py), leads brought in from elsewhere (ingest.py)."""

from gateway.cli import dlq, ingest, routes, serve, status  # noqa: F401  (commands join)
from gateway.cli.common import cli

__all__ = ["cli"]
