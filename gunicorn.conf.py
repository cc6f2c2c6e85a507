"""gunicorn settings for ``make run`` and production; override with env variables."""

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() * 2)))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
# The app is imported in each worker after fork, so every worker opens its own
# database connections; with preload on, post_fork drops the inherited pool.
preload_app = os.environ.get("GUNICORN_PRELOAD", "") == "1"
accesslog = "-"
errorlog = "-"


def post_fork(server, worker):
    if preload_app:
        from portal.database import dispose_engine_after_fork
        from wsgi import app

        dispose_engine_after_fork(app)
