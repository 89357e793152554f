"""What outside input costs, with the bounds on: a gzip bomb answer read as a worker reads MEGA
and Graph, and an upload of tiny rows through a real gunicorn web process.

    .venv/bin/python -m bench.bounds [--bomb-mb 256] [--rows 131072]

Prints the reading process's peak RSS growth for the bomb, and the web process's peak RSS
growth and Redis `used_memory` growth for the upload's dry run and import.
"""

from __future__ import annotations

import argparse
import threading
from http.server import ThreadingHTTPServer

import redis

from bench.harness import Stack
from tests.test_bounds import Bomb, gzip_bomb, read_bomb, tiny_rows, upload, web_memory_kb


def bomb(megabytes: int) -> None:
    Bomb.body = gzip_bomb(megabytes)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Bomb)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for which in ("graph", "mega"):
            out = read_bomb(f"http://127.0.0.1:{server.server_port}", which)
            print(f"{which}: a {len(Bomb.body) // 1024} KB gzip answer of {megabytes} MB: "
                  f"{out['error']['message'] if out['error'] else 'read whole'}, "
                  f"peak RSS +{out['growth_mb']:.0f} MB")
    finally:
        server.shutdown()
        server.server_close()


def uploads(rows: int) -> None:
    with Stack(customers=1, workers=0, start_workers=False, web_concurrency=1,
               web_threads=2) as stack:
        r = redis.Redis.from_url(stack.redis.url)
        rss, _ = web_memory_kb(stack)
        body = tiny_rows(rows)
        dry = upload(stack, body, dry_run=True)
        _, after_dry = web_memory_kb(stack)
        before = r.info("memory")["used_memory"]
        upload(stack, body, dry_run=False)
        grown = r.info("memory")["used_memory"] - before
        _, after_import = web_memory_kb(stack)
        print(f"upload of {len(body) / 1e6:.2f} MB, {rows} two-byte rows: dry run lists "
              f"{len(dry['rows'])} rows, web peak RSS +{(after_dry - rss) / 1024:.1f} MB; "
              f"after the import +{(after_import - rss) / 1024:.1f} MB, Redis used_memory "
              f"+{grown / 1024 / 1024:.2f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bomb-mb", type=int, default=256)
    parser.add_argument("--rows", type=int, default=131_072)
    args = parser.parse_args()
    bomb(args.bomb_mb)
    uploads(args.rows)


if __name__ == "__main__":
    main()
