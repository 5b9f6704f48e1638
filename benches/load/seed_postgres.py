#!/usr/bin/env python3
"""Bulk-seed Users into a scimd PostgreSQL database without HTTP, for the 1M-user scale run.

    seed_postgres.py DATABASE_URL TENANT_ID N USERS_TSV [PREFIX]

The PostgreSQL twin of seed_sqlite.py. Writes N users named PREFIX_1 .. PREFIX_N (default
prefix bulk<unix time>) in the row format the store writes for a POST of load.sh's user body
(`doc`, folded `search_doc`, `unique_name`, `display_name`, the email side row in
`resource_values`, `resource_counts` bumped in the same transaction), and appends
"userName<TAB>id" lines to USERS_TSV (what load.sh's filter/get/patch/page scenarios read).

Set-based: one psql session, one transaction per batch of 50 000 users, each an
INSERT … SELECT … FROM generate_series (ids from gen_random_uuid()); the batch's names and ids
come back with COPY … TO STDOUT into USERS_TSV. The JSON text is built by concatenation (not
jsonb, which would reorder keys) so it is byte-for-byte what serde_json writes. Needs psql
and PostgreSQL 13+. The tenant must exist (`scimd tenant create`). Run VACUUM ANALYZE
afterwards (scale_postgres_1m.sh does): the planner needs statistics, and autovacuum may be
off. No provisioning_log rows are written (a POST writes one).
"""
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone

BATCH = 50_000

# `doc` exactly as the store keeps a POST of load.sh's body (seed.lua): keys in body order,
# compact JSON. `search_doc` is the same with the caseExact=false strings folded (lower()).
DOC = (
    """'{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' || name ||"""
    """ '","name":{"givenName":"Load","familyName":"User' || i ||"""
    """ '"},"displayName":"Load User ' || name ||"""
    """ '","active":true,"emails":[{"value":"' || name ||"""
    """ '@example.com","type":"work","primary":true}]}'"""
)
SEARCH_DOC = (
    """'{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' || lower(name) ||"""
    """ '","name":{"givenName":"load","familyName":"user' || i ||"""
    """ '"},"displayName":"load user ' || lower(name) ||"""
    """ '","active":true,"emails":[{"value":"' || lower(name) ||"""
    """ '@example.com","type":"work","primary":true}]}'"""
)


def batch_sql(lo, hi):
    return f"""
BEGIN;
CREATE TEMP TABLE seed_batch ON COMMIT DROP AS
  SELECT i, gen_random_uuid()::text AS id, :'prefix' || '_' || i AS name
  FROM generate_series({lo}, {hi}) AS i;
INSERT INTO resources (tenant_id, id, resource_type, unique_name, display_name, external_id,
                       created, last_modified, version, doc, search_doc)
  SELECT :'tenant', id, 'User', lower(name), 'Load User ' || name, NULL, :'now', :'now', 1,
         {DOC}, {SEARCH_DOC}
  FROM seed_batch ORDER BY i;
INSERT INTO resource_values (tenant_id, resource_id, attribute, value_type, value, is_primary)
  SELECT :'tenant', id, 'emails', 'work', lower(name || '@example.com'), 1
  FROM seed_batch ORDER BY i;
INSERT INTO resource_counts (tenant_id, resource_type, n) VALUES (:'tenant', 'User', {hi - lo + 1})
  ON CONFLICT (tenant_id, resource_type) DO UPDATE SET n = resource_counts.n + {hi - lo + 1};
COPY (SELECT name, id FROM seed_batch ORDER BY i) TO STDOUT;
COMMIT;
"""


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    url, tenant, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    prefix = sys.argv[5] if len(sys.argv) == 6 else f"bulk{int(datetime.now().timestamp())}"
    # Names go into JSON text unescaped, and are folded with lower() (ASCII only under "C").
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", prefix):
        sys.exit(f"prefix must match [A-Za-z0-9][A-Za-z0-9_.-]*: {prefix!r}")
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    script = ["SET synchronous_commit = off;"]  # a seed that dies is rerun on a fresh database
    for lo in range(1, n + 1, BATCH):
        script.append(batch_sql(lo, min(lo + BATCH - 1, n)))
    t0 = time.monotonic()
    with open(out, "a") as tsv:
        r = subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"tenant={tenant}",
             "-v", f"prefix={prefix}", "-v", f"now={now}", "-d", url],
            input="\n".join(script), text=True, stdout=tsv, env={**os.environ, "PGAPPNAME": "seed_postgres"})
    secs = time.monotonic() - t0
    if r.returncode != 0:
        sys.exit(f"seed_postgres: psql failed (exit {r.returncode}); committed batches stay")
    print(f"seed_postgres: {n} users ({prefix}_1..{prefix}_{n}) in {secs:.1f} s = {n / secs:.0f} users/s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
