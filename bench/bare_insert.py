"""The baseline web process of `cadena bench system`: the bare Flask +
SQLAlchemy insert of bench/write.py (parse JSON, insert the contact row,
commit, answer), served by gunicorn exactly as `cadena serve` serves a
component (same worker class, workers and threads).

    python -m bench.bare_insert --port 34040 --database-url postgresql+psycopg://…
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    parser = argparse.ArgumentParser(prog="bench.bare_insert")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    opts = parser.parse_args(argv)
    from gunicorn.app.base import BaseApplication

    from shared import config

    workers, threads = config.web_size()

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"127.0.0.1:{opts.port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread" if threads > 1 else "sync")
            self.cfg.set("accesslog", None)
            self.cfg.set("proc_name", "cadena-bench-bare-insert")

        def load(self):
            from bench.write import baseline_app

            app, _engine = baseline_app(opts.database_url)

            @app.get("/readyz")
            def ready():
                return {"status": "ready"}

            return app

    Server().run()


if __name__ == "__main__":
    main(sys.argv[1:])
