"""Request lists of the Entra-style initial sync, for replay.lua (one request a line:
METHOD<TAB>PATH<TAB>BODY). Used by run.sh and sync_ab.sh.

  sync_requests.py users N PREFIX          for each of N users: the filter lookup, then the POST
  sync_requests.py groups N PREFIX         N empty groups
  sync_requests.py members GROUPS_TSV USERS_TSV M
                                           M one-member PATCHes a group, users taken in turn
                                           (the TSVs are replay.lua's "name<TAB>id" outputs)
"""
import json
import sys


def compact(body):
    return json.dumps(body, separators=(",", ":"))


def users(n, prefix):
    for i in range(1, n + 1):
        u = "%s_%d@contoso.com" % (prefix, i)
        print("GET\t/Users?filter=userName%%20eq%%20%%22%s%%22\t" % u)
        body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "externalId": "ext-%s-%d" % (prefix, i), "userName": u, "active": True,
                "displayName": "Sync User %d" % i,
                "emails": [{"primary": True, "type": "work", "value": u}],
                "name": {"formatted": "Sync User %d" % i, "familyName": "User %d" % i,
                         "givenName": "Sync"},
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                    {"department": "D%d" % (i % 10)}}
        print("POST\t/Users\t" + compact(body))


def groups(n, prefix):
    for g in range(1, n + 1):
        name = "%s_%d" % (prefix, g)
        print("POST\t/Groups\t" + compact({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": name, "externalId": name}))


def ids(tsv):
    return [line.rstrip("\n").split("\t")[1] for line in open(tsv) if "\t" in line]


def members(groups_tsv, users_tsv, m):
    group_ids, user_ids = ids(groups_tsv), ids(users_tsv)
    if not user_ids:
        return
    for gi, g in enumerate(group_ids):
        for j in range(m):
            u = user_ids[(gi * m + j) % len(user_ids)]
            body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Add", "path": "members", "value": [{"value": u}]}]}
            print("PATCH\t/Groups/%s\t%s" % (g, compact(body)))


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "users":
        users(int(sys.argv[2]), sys.argv[3])
    elif kind == "groups":
        groups(int(sys.argv[2]), sys.argv[3])
    elif kind == "members":
        members(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(__doc__)
