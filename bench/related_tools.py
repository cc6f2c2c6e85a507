"""CPU of the "related tools" panel of a tool page, ranked on each view and kept per worker.

    .venv/bin/python bench/related_tools.py          # 200 random tools of the big database
    .venv/bin/python bench/related_tools.py -n 500

Runs ``portal.kb.services.related_tools`` in-process on a copy of the planning meeting
benchmark's database (20,000 tools), for a manager with drafts of their own and a lead, three
ways: ``RELATED_TOOLS_CACHE_SECONDS=0`` (ranked on every view: development, tests), a kept
ranking missed (the first view of a tool in a worker, or after the 60 s), and one hit.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.load import data_size, kept_data, open_copy  # noqa: E402
from bench.meeting import close_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.kb.services import related_tools  # noqa: E402
from portal.models import SalesTool, User  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200, help="random tools to rank")
    parser.add_argument("--quick", action="store_true", help="the 10,000-deal database")
    args = parser.parse_args()
    data, _ = kept_data(data_size(args.quick))
    workdir = Path(tempfile.mkdtemp(prefix="planerka-bench-related-"))
    try:
        app = open_copy(data, workdir)
        with app.app_context():
            people = {
                "manager (has drafts)": db.session.scalar(
                    select(User).where(User.email == "manager2-0@bench.ru")
                ),
                "lead": db.session.scalar(select(User).where(User.email == "lead1@bench.ru")),
            }
            count = db.session.scalar(select(db.func.count(SalesTool.id)))
            ids = random.Random(1).sample(range(1, count + 1), min(args.n, count))
            tools = [db.session.get(SalesTool, i) for i in ids]
            for tool in tools:  # loaded before timing, as the tool page has them
                tool.tags, tool.segments  # noqa: B018
            print(f"{'who':22} {'ranked each view':>17} {'kept: miss':>11} {'kept: hit':>10}")
            for who, user in people.items():
                figures = []
                for seconds, fresh in ((0, False), (60, True), (60, False)):
                    app.config["RELATED_TOOLS_CACHE_SECONDS"] = seconds
                    if fresh:
                        app.extensions.pop("related_tools_cache", None)
                    started = time.process_time()
                    for tool in tools:
                        related_tools(user, tool)
                    figures.append((time.process_time() - started) / len(tools) * 1000)
                print(f"{who:22} {figures[0]:14.2f} ms {figures[1]:8.2f} ms {figures[2]:7.2f} ms")
        close_app(app)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
