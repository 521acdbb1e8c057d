#!/usr/bin/env python3
"""sts-graph-standin: a small graph store on SQLite that stands in for StackGraph in tests and the demo.

StackState's server cannot run here, so this store plays its part with the same backup contract as
`stackstate-server -export FILE` / `-import FILE [-force]`:

  sts-graph-standin [-db PATH] -export FILE          full export to FILE (SQLite online backup, written
                                                     to FILE.partial and renamed: FILE appears complete
                                                     or not at all); exit 0 only on success
  sts-graph-standin [-db PATH] -import FILE [-force] replace the store's content with FILE; refuses a
                                                     non-empty store (exit 3) unless -force
  sts-graph-standin [-db PATH] -count                number of stored elements (vertices + edges)
  sts-graph-standin [-db PATH] -seed N [-payload B]  add N vertices, each with an edge to the previous
                                                     one and B bytes of random payload (test data)
  sts-graph-standin [-db PATH] -digest               SHA-256 of the whole logical content, in id order

The database is PATH, or $STS_GRAPH_DB. Exit codes: 0 ok, 1 failure, 2 usage, 3 store not empty.
"""
import hashlib
import os
import sqlite3
import sys

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS vertices (id INTEGER PRIMARY KEY, label TEXT NOT NULL, payload BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS edges (id INTEGER PRIMARY KEY, src INTEGER NOT NULL, dst INTEGER NOT NULL, label TEXT NOT NULL)",
)
TABLES = ("vertices", "edges")


def fail(message, code=1):
    sys.stderr.write(f"sts-graph-standin: {message}\n")
    sys.exit(code)


def parse(argv):
    opts = {"db": os.environ.get("STS_GRAPH_DB", ""), "force": False, "payload": 64}
    action = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-db", "-payload", "-export", "-import", "-seed"):
            if i + 1 >= len(argv):
                fail(f"{arg} needs a value", 2)
            value = argv[i + 1]
            i += 2
            if arg == "-db":
                opts["db"] = value
            elif arg == "-payload":
                opts["payload"] = int(value)
            else:
                if action is not None:
                    fail("give one of -export, -import, -count, -seed, -digest", 2)
                action = (arg[1:], value)
            continue
        if arg == "-force":
            opts["force"] = True
        elif arg in ("-count", "-digest"):
            if action is not None:
                fail("give one of -export, -import, -count, -seed, -digest", 2)
            action = (arg[1:], None)
        elif arg in ("-h", "-help", "--help"):
            sys.stdout.write(__doc__)
            sys.exit(0)
        else:
            fail(f"unknown argument {arg!r}", 2)
        i += 1
    if action is None:
        fail("give one of -export FILE, -import FILE [-force], -count, -seed N, -digest", 2)
    if opts["db"] == "":
        fail("no database: pass -db PATH or set STS_GRAPH_DB", 2)
    return action, opts


def open_store(path, create):
    if not create and not os.path.exists(path):
        fail(f"no graph store at {path}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        fail(f"folder {directory} does not exist")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 10000")
    for statement in SCHEMA:
        conn.execute(statement)
    return conn


def count(conn):
    return sum(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES)


def check_export(path):
    """Opens an export read-only and checks that it is a complete graph export."""
    if not os.path.isfile(path):
        fail(f"export file {path} does not exist")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as err:
        fail(f"{path} is not a graph export: {err}")
    if result != "ok":
        fail(f"{path} is damaged: {result}")
    missing = [t for t in TABLES if t not in names]
    if missing:
        fail(f"{path} is not a graph export: tables {', '.join(missing)} are missing")
    return conn


def do_export(opts, target):
    conn = open_store(opts["db"], create=False)
    partial = f"{target}.partial"
    if os.path.exists(partial):
        os.remove(partial)
    out = sqlite3.connect(partial)
    conn.backup(out)
    out.close()
    os.replace(partial, target)
    print(f"exported {count(conn)} elements to {target} ({os.path.getsize(target)} bytes)")


def do_import(opts, source):
    src = check_export(source)
    conn = open_store(opts["db"], create=True)
    existing = count(conn)
    if existing > 0 and not opts["force"]:
        fail(f"the store is not empty ({existing} elements); use -force to replace its content", 3)
    src.backup(conn)
    print(f"imported {count(conn)} elements from {source}" + (f", replacing {existing}" if existing else ""))


def do_seed(opts, amount):
    conn = open_store(opts["db"], create=True)
    n = int(amount)
    start = conn.execute("SELECT coalesce(max(id), 0) FROM vertices").fetchone()[0]
    conn.execute("BEGIN")
    for i in range(start + 1, start + n + 1):
        conn.execute("INSERT INTO vertices (id, label, payload) VALUES (?, ?, ?)", (i, f"component-{i}", os.urandom(opts["payload"])))
        if i > 1:
            conn.execute("INSERT INTO edges (src, dst, label) VALUES (?, ?, ?)", (i - 1, i, "depends-on"))
        if i % 1000 == 0:
            conn.execute("COMMIT")
            conn.execute("BEGIN")
    conn.execute("COMMIT")
    print(f"seeded {n} vertices; the store holds {count(conn)} elements")


def do_digest(opts):
    conn = open_store(opts["db"], create=False)
    digest = hashlib.sha256()
    for row in conn.execute("SELECT id, label, payload FROM vertices ORDER BY id"):
        digest.update(repr((row[0], row[1], bytes(row[2]).hex())).encode())
    for row in conn.execute("SELECT id, src, dst, label FROM edges ORDER BY id"):
        digest.update(repr(row).encode())
    print(digest.hexdigest())


def main():
    (action, value), opts = parse(sys.argv[1:])
    try:
        if action == "export":
            do_export(opts, value)
        elif action == "import":
            do_import(opts, value)
        elif action == "count":
            # A store that was never written holds nothing (and counting does not create it).
            print(count(open_store(opts["db"], create=False)) if os.path.exists(opts["db"]) else 0)
        elif action == "seed":
            do_seed(opts, value)
        elif action == "digest":
            do_digest(opts)
    except (sqlite3.Error, OSError) as err:
        fail(str(err))


if __name__ == "__main__":
    main()
