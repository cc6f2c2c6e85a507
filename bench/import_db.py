"""The whole CRM import: parse 100,000 amoCRM rows and write them to SQLite, then again.

Prints the time and peak memory of ``flask --app wsgi import-deals``'s service path
(parse_deal_file + import_deals) on a fresh database, and of re-importing the same file
(every row unchanged). Run: ``.venv/bin/python bench/import_db.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _load_import_bench():
    """bench/import.py (``import`` is a keyword, so it is loaded by path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_import", ROOT / "bench" / "import.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_bench = _load_import_bench()
MANAGERS, write_csv = _bench.MANAGERS, _bench.write_csv


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    from portal import create_app
    from portal.auth.services import create_user
    from portal.deals.importing import parse_deal_file
    from portal.deals.services import import_deals
    from portal.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv_path = tmp / "amocrm.csv"
        write_csv(csv_path, args.rows)
        app = create_app(
            {
                "ENV_NAME": "testing",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}",
                "SEARCH_INDEX_DIR": str(tmp / "index"),
            }
        )
        with app.app_context():
            db.create_all()
            admin = create_user("admin@bench.ru", "Админ", "admin", "bench-password-1")
            for number, name in enumerate(MANAGERS):
                if "@" not in name:
                    create_user(
                        f"m{number}@bench.ru",
                        name,
                        "manager",
                        "bench-password-1",
                        team_name="Продажи",
                    )
            base = _maxrss_mb()
            print(
                f"{args.rows:,} rows, {csv_path.stat().st_size / 1e6:.1f} MB CSV; RSS before: {base:.0f} MB"
            )
            for label in ("first import", "same file again"):
                started = time.perf_counter()
                parsed = parse_deal_file(csv_path, csv_path.name)
                parsed_at = time.perf_counter()
                outcome = import_deals(admin, parsed, filename=csv_path.name, sha256="bench",
                                       dry_run=False, skip_errors=True)  # fmt: skip
                done = time.perf_counter()
                print(
                    f"{label:>16}: parse {parsed_at - started:5.1f} s + write {done - parsed_at:5.1f} s"
                    f" = {done - started:5.1f} s; {outcome.created} new, {outcome.updated} updated,"
                    f" {outcome.unchanged} unchanged, {outcome.skipped} skipped; RSS peak {_maxrss_mb():.0f} MB"
                )
                del parsed


if __name__ == "__main__":
    main()
