"""The web process's context: what it keeps for its lifetime, and the one way to reach it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app

from gateway.config import Config
from gateway.store.connection import StoreClient
from gateway.store.store import Store

EXTENSION = "leadgate"      # the app.extensions key; read only by app_context


@dataclass
class AppContext:
    """Config, Redis, the store and the clock, built once by the app factory."""

    config: Config
    redis: StoreClient
    store: Store
    clock: Callable[[], float]

    def attach(self, app: Flask) -> None:
        """Keep this context on the app for its lifetime."""
        app.extensions[EXTENSION] = self

    def close(self) -> None:
        """Stop the store's metrics thread (its last counts written) and close Redis."""
        self.store.close()
        self.redis.close()


def app_context(app: Flask | None = None) -> AppContext:
    """The context of `app`, or of the app handling this request: one lookup, so a view
    calls it once."""
    return (app or current_app).extensions[EXTENSION]  # type: ignore[no-any-return]
