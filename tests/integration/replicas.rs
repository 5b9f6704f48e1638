//! Several release processes on one PostgreSQL database, as behind a load balancer:
//! migrations serialised at start, uniqueness and membership held by the database across
//! replicas, no 5xx, and a token revoked through one replica's CLI refused by all at once.
//!
//! `#[ignore]`d (needs `cargo build --release` and PostgreSQL):
//! `cargo test --test integration replicas -- --ignored`.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::crash::{cli, fresh_db, http, release_binary, tenant_with_token, Server};
use crate::support::Backend;

const REPLICAS: usize = 3;

/// Runs `n` requests at once (released together by a barrier): the statuses, in order.
fn parallel(n: usize, f: impl Fn(usize) -> (u16, String) + Send + Sync + 'static) -> Vec<u16> {
    let f = Arc::new(f);
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (f, barrier) = (f.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                f(i)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| {
            let (s, body) = h.join().expect("request thread");
            assert!(s < 500, "5xx from a replica: {s} {body}");
            s
        })
        .collect()
}

/// `Alice.Replica@example.com` with its letters upper- or lower-cased by the bits of `i`
/// (a different casing for every `i` below 2^20).
fn casing(i: usize) -> String {
    let mut bit = 0;
    "alice.replica@example.com"
        .chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                bit += 1;
                if (i >> (bit - 1)) & 1 == 1 {
                    return c.to_ascii_uppercase();
                }
            }
            c
        })
        .collect()
}

#[test]
#[ignore = "needs the release binary and PostgreSQL; run by .ci/run with --ignored"]
fn replicas_on_one_postgres_agree() {
    let Some(db) = fresh_db(Backend::Postgres) else {
        return;
    };
    release_binary();
    let url = db.url().to_string();
    let logdir = tempfile::tempdir().expect("temp dir");

    // All replicas start at the same moment on an empty database: the advisory lock
    // serialises their migrations, and every one of them comes up.
    let mut servers: Vec<Server> = (0..REPLICAS)
        .map(|i| Server::spawn(&url, &logdir.path().join(format!("replica{i}.log"))))
        .collect();
    for s in &mut servers {
        s.wait_ready();
    }
    let addrs: Vec<String> = servers.iter().map(|s| s.addr.clone()).collect();
    for s in &mut servers {
        assert!(
            s.child.try_wait().expect("try_wait").is_none(),
            "a replica exited"
        );
    }

    let (tenant, token, token_id) = tenant_with_token(&url);
    let base = format!("/scim/v2/{tenant}");

    // 50 creates of one userName in different letter cases, spread over the replicas:
    // exactly one 201, the rest 409.
    let statuses = {
        let (addrs, base, token) = (addrs.clone(), base.clone(), token.clone());
        parallel(50, move |i| {
            let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": casing(i), "active": true});
            http(
                &addrs[i % REPLICAS],
                "POST",
                &format!("{base}/Users"),
                Some(&token),
                Some(&body),
            )
            .expect("POST")
        })
    };
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        49,
        "{statuses:?}"
    );

    // 3 groups × 20 parallel member adds, spread over the replicas: all present.
    let mut users = Vec::new();
    for i in 0..20 {
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("member{i}@example.com")});
        let (s, b) = http(
            &addrs[i % REPLICAS],
            "POST",
            &format!("{base}/Users"),
            Some(&token),
            Some(&body),
        )
        .expect("POST");
        assert_eq!(s, 201, "{b}");
        let v: Value = serde_json::from_str(&b).unwrap();
        users.push(v["id"].as_str().unwrap().to_string());
    }
    for g in 0..3 {
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": format!("Replica group {g}")});
        let (s, b) = http(
            &addrs[g % REPLICAS],
            "POST",
            &format!("{base}/Groups"),
            Some(&token),
            Some(&body),
        )
        .expect("POST");
        assert_eq!(s, 201, "{b}");
        let gid = serde_json::from_str::<Value>(&b).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let statuses = {
            let (addrs, base, token, users, gid) = (
                addrs.clone(),
                base.clone(),
                token.clone(),
                users.clone(),
                gid.clone(),
            );
            parallel(20, move |i| {
                let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Add", "path": "members",
                        "value": [{"value": users[i]}]}]});
                http(
                    &addrs[(i + g) % REPLICAS],
                    "PATCH",
                    &format!("{base}/Groups/{gid}"),
                    Some(&token),
                    Some(&body),
                )
                .expect("PATCH")
            })
        };
        assert!(
            statuses.iter().all(|s| (200..300).contains(s)),
            "{statuses:?}"
        );
        for a in &addrs {
            let (s, b) = http(
                a,
                "GET",
                &format!("{base}/Groups/{gid}"),
                Some(&token),
                None,
            )
            .expect("GET");
            assert_eq!(s, 200, "{b}");
            let v: Value = serde_json::from_str(&b).unwrap();
            let mut got: Vec<String> = v["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["value"].as_str().unwrap().to_string())
                .collect();
            got.sort();
            let mut want = users.clone();
            want.sort();
            assert_eq!(got, want, "members of group {g} seen through {a}");
        }
    }

    // Every replica accepts the token; revoke it through the CLI; within a second every
    // replica refuses it.
    for a in &addrs {
        let (s, b) = http(
            a,
            "GET",
            &format!("{base}/Users?count=1"),
            Some(&token),
            None,
        )
        .expect("GET");
        assert_eq!(s, 200, "{b}");
    }
    cli(
        &url,
        &[
            "token",
            "revoke",
            "--tenant",
            &tenant,
            "--token-id",
            &token_id,
        ],
    );
    let revoked = Instant::now();
    for a in &addrs {
        loop {
            let (s, _) = http(
                a,
                "GET",
                &format!("{base}/Users?count=1"),
                Some(&token),
                None,
            )
            .expect("GET");
            if s == 401 {
                break;
            }
            assert_eq!(s, 200);
            assert!(
                revoked.elapsed() < Duration::from_secs(1),
                "{a} still accepts a token revoked {:?} ago",
                revoked.elapsed()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    eprintln!(
        "replicas: {REPLICAS} processes; 50 racing creates → 1×201, 49×409; 60 parallel member \
         adds all present; revocation seen by all in {:?}",
        revoked.elapsed()
    );
    for s in &mut servers {
        assert!(
            s.child.try_wait().expect("try_wait").is_none(),
            "a replica died"
        );
    }
}
