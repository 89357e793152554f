"""gunicorn, run from `leadgate web` with settings from the environment it passes in."""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import Any

from gunicorn.app.base import BaseApplication


class GatewayServer(BaseApplication):
    """gunicorn serving the Flask app built from the config file."""

    def __init__(self, config_path: str | None, options: dict[str, Any]):
        self.config_path, self.options = config_path, options
        super().__init__()

    def load_config(self) -> None:
        """Apply the options that this gunicorn version knows."""
        for key, value in self.options.items():
            if key in self.cfg.settings:       # settings this gunicorn version knows
                self.cfg.set(key, value)

    def load(self) -> Any:
        """The Flask app, from the config file."""
        from gateway.config import load_config
        from gateway.web.app import create_app

        app = create_app(load_config(self.config_path))
        gc.freeze()     # what the app keeps for life leaves the collector's full scans, which
        return app      # otherwise stall every thread of the process (25-65 ms each, measured)


def options(port: int, env: Mapping[str, str], *, host: str = "0.0.0.0") -> dict[str, Any]:
    """gunicorn settings: host, PORT, WEB_CONCURRENCY, GUNICORN_THREADS, GUNICORN_TIMEOUT."""
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": int(env.get("WEB_CONCURRENCY", "2")),
        "worker_class": "gthread",
        "threads": int(env.get("GUNICORN_THREADS", "4")),
        "timeout": int(env.get("GUNICORN_TIMEOUT", "30")),
        "graceful_timeout": int(env.get("GUNICORN_GRACEFUL_TIMEOUT", "25")),
        "keepalive": 5,
        "accesslog": None,
        "control_socket_disable": True,   # gunicorn >= 24: one fixed path per user otherwise
    }


def serve(config_path: str | None, env: Mapping[str, str], *, port: int, host: str = "0.0.0.0"
          ) -> None:
    """Run the web process under gunicorn (env: where its settings are read)."""
    GatewayServer(config_path, options(port, env, host=host)).run()
