#!/usr/bin/env python3
"""The directory bench on SQLite, PostgreSQL and MariaDB in one run (issue 13):
starts a private PostgreSQL and a private MariaDB (tests/integration/stores.py,
the same servers the tests use), gives each bench process an empty database,
and prints one table row per database and benchmark.

    bench/directory_databases.py build/bench/directory_import_bench [users]

users defaults to TONGBAN_BENCH_USERS or 50000. The servers run with the
tests' relaxed durability (PostgreSQL fsync=off; InnoDB flushes the log once a
second): figures compare the SQL the dialects run, not the disks."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import stores  # noqa: E402

ROWS = [("BM_Import", "users_per_s", "import_s"),
        ("BM_UserByIdFromDatabase", "p50_us", "p99_us"),
        ("BM_UserByLoginname", "p50_us", "p99_us"),
        ("BM_SearchUsersByPrefix", "p50_us", "p99_us"),
        ("BM_UsersByOrgFirstPage", "p50_us", "p99_us")]


def run(binary, users, url):
    env = dict(os.environ, TONGBAN_BENCH_USERS=str(users))
    if url:
        env["TONGBAN_BENCH_DB"] = url
    out = subprocess.run([binary, "--benchmark_format=json", "--benchmark_min_time=2"],
                         env=env, capture_output=True, text=True, check=True).stdout
    return {b["name"].split("/")[0]: b for b in json.loads(out)["benchmarks"]}


def main():
    binary = sys.argv[1]
    users = int(sys.argv[2]) if len(sys.argv) > 2 else int(
        os.environ.get("TONGBAN_BENCH_USERS", "50000"))
    results = {}
    results["SQLite"] = run(binary, users, "")
    with stores.PrivatePostgres() as pg:
        results["PostgreSQL 15"] = run(binary, users, pg.new_database_url())
    with stores.PrivateMariadb() as my:
        results["MariaDB 10.11"] = run(binary, users, my.new_database_url())
    print("| benchmark (%d users) | database | figure | figure |" % users)
    print("| --- | --- | --- | --- |")
    for name, a, b in ROWS:
        for db, r in results.items():
            row = r.get(name, {})
            print("| %s | %s | %s %.1f | %s %.1f |" % (name, db, a, row.get(a, float("nan")), b,
                                                     row.get(b, float("nan"))))


if __name__ == "__main__":
    main()
