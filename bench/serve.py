"""Serve a WSGI app (module:attribute) with exactly the gunicorn settings `leadgate web` uses."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from gateway.web.server import options


class Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, target: str, port: int):
        self.target, self.settings = target, options(port, os.environ)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.settings.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self) -> Any:
        module, attribute = self.target.split(":")
        return getattr(importlib.import_module(module), attribute)


if __name__ == "__main__":
    Server(sys.argv[1], int(sys.argv[2])).run()
