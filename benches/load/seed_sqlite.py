#!/usr/bin/env python3
"""Bulk-seed Users into a scimd SQLite database without HTTP, for the 1M-user scale run.

    seed_sqlite.py DB_PATH TENANT_ID N USERS_TSV

Writes N users in the row format the store writes for a POST of load.sh's user body
(`doc`, folded `search_doc`, `unique_name`, the email side row, `resource_counts`), in
transactions of 50 000 rows, and appends "userName<TAB>id" lines to USERS_TSV (what
load.sh's filter/get/patch/page scenarios read). The tenant must exist (`scimd tenant
create`) and the server must not be running. Rows written this way read back through the
API exactly like POSTed ones (the scale run GETs, filters and PATCHes them).
"""
import json
import sqlite3
import sys
import uuid
from datetime import datetime, timezone

SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def document(name, i, fold):
    """`doc` exactly as the store keeps a POST of load.sh's body (seed.lua): keys in body
    order, compact JSON; with `fold`, the `search_doc` (caseExact=false strings lower-cased)."""
    f = str.lower if fold else str
    return json.dumps({
        "schemas": [SCHEMA],
        "userName": f(name),
        "name": {"givenName": f("Load"), "familyName": f(f"User{i}")},
        "displayName": f(f"Load User {name}"),
        "active": True,
        "emails": [{"value": f(f"{name}@example.com"), "type": "work", "primary": True}],
    }, separators=(",", ":"))


def rows(tenant, n, prefix, now):
    for i in range(1, n + 1):
        name = f"{prefix}_{i}"
        rid = str(uuid.uuid4())
        yield (
            (tenant, rid, "User", name.lower(), f"Load User {name}", None, now, now, 1,
             document(name, i, False), document(name, i, True)),
            (tenant, rid, "emails", "work", f"{name}@example.com".lower(), 1),
            name,
            rid,
        )


def main():
    db, tenant, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    prefix = f"bulk{int(datetime.now().timestamp())}"
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    batch_r, batch_v = [], []
    with open(out, "a") as tsv:
        def flush():
            con.executemany("INSERT INTO resources (tenant_id, id, resource_type, unique_name, display_name, external_id, created, last_modified, version, doc, search_doc) VALUES (?,?,?,?,?,?,?,?,?,?,?)", batch_r)
            con.executemany("INSERT INTO resource_values (tenant_id, resource_id, attribute, value_type, value, is_primary) VALUES (?,?,?,?,?,?)", batch_v)
            con.commit()
            batch_r.clear()
            batch_v.clear()
        for r, v, name, rid in rows(tenant, n, prefix, now):
            batch_r.append(r)
            batch_v.append(v)
            tsv.write(f"{name}\t{rid}\n")
            if len(batch_r) == 50_000:
                flush()
        flush()
    con.execute(
        "INSERT INTO resource_counts (tenant_id, resource_type, n) VALUES (?, 'User', ?) "
        "ON CONFLICT (tenant_id, resource_type) DO UPDATE SET n = resource_counts.n + ?",
        (tenant, n, n))
    con.commit()
    con.execute("ANALYZE")
    con.commit()
    con.close()


if __name__ == "__main__":
    main()
