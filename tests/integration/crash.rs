//! Crash safety of the release binary: concurrent writers over HTTP while the server is
//! SIGKILLed at random moments and restarted on the same database; afterwards every write
//! that was acknowledged with a 2xx is there, and every resource is whole. And a graceful
//! stop: SIGTERM lets a request in flight finish.
//!
//! `#[ignore]`d (it needs `cargo build --release` first and takes ~10–60 s per backend):
//! `cargo test --test integration crash -- --ignored`. `SCIMD_CRASH_CYCLES` (default 20)
//! and `SCIMD_CRASH_SECONDS` (default 90, a bound per backend) tune it.
//!
//! Also the process and HTTP helpers that `replicas.rs` uses.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{json, Value};

use crate::support::{enc, Backend, TestDb};

// ---------------------------------------------------------------------------------------
// Helpers shared with replicas.rs
// ---------------------------------------------------------------------------------------

/// The release binary (`$CARGO_TARGET_DIR/release/scimd`, or `SCIMD_RELEASE_BIN`).
pub fn release_binary() -> PathBuf {
    if let Ok(p) = std::env::var("SCIMD_RELEASE_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target").to_string());
    let bin = PathBuf::from(target).join("release").join("scimd");
    assert!(
        bin.is_file(),
        "the release binary {} is missing: run `cargo build --release` first \
         (with the same CARGO_TARGET_DIR), or set SCIMD_RELEASE_BIN",
        bin.display()
    );
    bin
}

/// A free local port (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Runs an admin sub-command with `--json`, `stdin` as its input.
fn run_cli(db_url: &str, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(release_binary())
        .arg("--database-url")
        .arg(db_url)
        .arg("--json")
        .args(args)
        .env("SCIMD_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run scimd");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait scimd")
}

/// Runs an admin sub-command with `--json`; returns its output.
pub fn cli(db_url: &str, args: &[&str]) -> Value {
    let out = run_cli(db_url, args, "");
    assert!(
        out.status.success(),
        "scimd {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

/// [`cli`] with `stdin` as its input, success or not: (success, stdout JSON or null, stderr).
fn cli_with_input(db_url: &str, args: &[&str], stdin: &str) -> (bool, Value, String) {
    let out = run_cli(db_url, args, stdin);
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Creates a tenant and a token through the CLI: (tenant id, token, token id).
pub fn tenant_with_token(db_url: &str) -> (String, String, String) {
    let t = cli(db_url, &["tenant", "create", "--name", "Ops"]);
    let tenant = t["tenant_id"].as_str().unwrap().to_string();
    let k = cli(
        db_url,
        &["token", "create", "--tenant", &tenant, "--name", "ops"],
    );
    (
        tenant,
        k["token"].as_str().unwrap().to_string(),
        k["token_id"].as_str().unwrap().to_string(),
    )
}

/// A running `scimd serve`.
pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Server {
    /// Starts the release binary on `db_url` on a fresh port (does not wait).
    pub fn spawn(db_url: &str, log: &std::path::Path) -> Server {
        let addr = format!("127.0.0.1:{}", free_port());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let child = Command::new(release_binary())
            .arg("--database-url")
            .arg(db_url)
            .arg("--listen")
            .arg(&addr)
            .arg("serve")
            .env("SCIMD_RATE_LIMIT", "1000000")
            .env("SCIMD_RATE_BURST", "1000000")
            .env("SCIMD_MAX_CONCURRENT_PER_TENANT", "10000")
            .env("SCIMD_DB_POOL_SIZE", "8")
            .env("SCIMD_WORKERS", "4")
            .env("SCIMD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start scimd");
        Server { child, addr }
    }

    /// Starts scimd on `db_url` and waits until it is ready.
    pub fn start(db_url: &str, log: &std::path::Path) -> Server {
        let mut server = Server::spawn(db_url, log);
        server.wait_ready();
        server
    }

    /// Waits until `/readyz` answers 200; panics if the process exits or it takes >30 s.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("scimd on {} exited during start: {status}", self.addr);
            }
            if let Ok((200, _)) = http(&self.addr, "GET", "/readyz", None, None) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "scimd on {} never ready",
                self.addr
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM (a graceful stop); does not wait.
    pub fn sigterm(&self) {
        assert!(Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill")
            .success());
    }

    /// SIGKILL (`kill -9`), then reap.
    pub fn kill9(&mut self) {
        let _ = Command::new("kill")
            .arg("-9")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill9();
        }
    }
}

/// One HTTP/1.1 request with `Connection: close`: (status, body). An `Err` means no
/// complete response (refused, reset, killed mid-way): the outcome is unknown.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(15)))?;
    s.set_write_timeout(Some(Duration::from_secs(15)))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if !body.is_empty() {
        req.push_str("Content-Type: application/scim+json\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "incomplete response");
    let (head, rest) = text.split_once("\r\n\r\n").ok_or_else(bad)?;
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let head_lc = head.to_ascii_lowercase();
    let body = if head_lc.contains("transfer-encoding: chunked") {
        dechunk(rest).ok_or_else(bad)?
    } else {
        if let Some(len) = head_lc
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
        {
            if rest.len() < len {
                return Err(bad());
            }
        }
        rest.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut s: &str) -> Option<String> {
    let mut out = String::new();
    loop {
        let (size, rest) = s.split_once("\r\n")?;
        let n = usize::from_str_radix(size.trim(), 16).ok()?;
        if n == 0 {
            return Some(out);
        }
        out.push_str(rest.get(..n)?);
        s = rest.get(n + 2..)?;
    }
}

/// A fresh database for processes: a temp SQLite file or a PostgreSQL schema of its own.
pub fn fresh_db(backend: Backend) -> Option<TestDb> {
    TestDb::new(backend)
}

// ---------------------------------------------------------------------------------------
// The crash test
// ---------------------------------------------------------------------------------------

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the writers know.
#[derive(Default)]
struct Ledger {
    /// userName → id, for creates answered 201.
    users: BTreeMap<String, String>,
    /// userNames whose create got no answer (may or may not exist).
    maybe_users: BTreeSet<String>,
    /// user id → highest acknowledged `title` counter.
    titles: BTreeMap<String, u64>,
    /// (group id, user id) adds answered 2xx.
    members: BTreeSet<(String, String)>,
    /// (group id, user id) adds attempted at all.
    member_attempts: BTreeSet<(String, String)>,
}

#[derive(Default)]
struct Stats {
    acked: AtomicU64,
    unknown: AtomicU64,
    server_errors: AtomicU64,
}

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// What every writer shares.
struct Shared {
    /// The address of the current server (changes on each restart).
    addr: RwLock<String>,
    base: String,
    token: String,
    groups: Vec<String>,
    ledger: Mutex<Ledger>,
    stats: Stats,
    stop: AtomicBool,
}

fn writer(id: usize, sh: Arc<Shared>) {
    let (base, token, groups) = (&sh.base, sh.token.as_str(), &sh.groups);
    let (ledger, stats, stop) = (&sh.ledger, &sh.stats, &sh.stop);
    let mut rng = rand::thread_rng();
    let mut seq = 0u64;
    let mut mine: Vec<String> = Vec::new(); // ids of this writer's acknowledged users
    let mut title = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let a = sh.addr.read().unwrap().clone();
        let op = if mine.is_empty() {
            0
        } else {
            rng.gen_range(0..3)
        };
        let result = match op {
            0 => {
                seq += 1;
                let name = format!("w{id}-{seq}@example.com");
                let body = json!({"schemas": [USER_SCHEMA], "userName": name, "active": true,
                    "emails": [{"value": name, "type": "work", "primary": true}]});
                let r = http(
                    &a,
                    "POST",
                    &format!("{base}/Users"),
                    Some(token),
                    Some(&body),
                );
                let mut l = ledger.lock().unwrap();
                match &r {
                    Ok((201, b)) => {
                        let v: Value = serde_json::from_str(b).expect("201 body");
                        let uid = v["id"].as_str().expect("id").to_string();
                        l.users.insert(name, uid.clone());
                        mine.push(uid);
                    }
                    _ => {
                        l.maybe_users.insert(name);
                    }
                }
                r
            }
            1 => {
                let uid = mine[rng.gen_range(0..mine.len())].clone();
                title += 1;
                let body = json!({"schemas": [PATCH_SCHEMA], "Operations": [
                    {"op": "replace", "path": "title", "value": format!("t{title}")}]});
                let r = http(
                    &a,
                    "PATCH",
                    &format!("{base}/Users/{uid}"),
                    Some(token),
                    Some(&body),
                );
                if matches!(&r, Ok((s, _)) if (200..300).contains(s)) {
                    let mut l = ledger.lock().unwrap();
                    let t = l.titles.entry(uid).or_default();
                    *t = (*t).max(title);
                }
                r
            }
            _ => {
                let uid = mine[rng.gen_range(0..mine.len())].clone();
                let gid = groups[rng.gen_range(0..groups.len())].clone();
                ledger
                    .lock()
                    .unwrap()
                    .member_attempts
                    .insert((gid.clone(), uid.clone()));
                let body = json!({"schemas": [PATCH_SCHEMA], "Operations": [
                    {"op": "add", "path": "members", "value": [{"value": uid}]}]});
                let r = http(
                    &a,
                    "PATCH",
                    &format!("{base}/Groups/{gid}"),
                    Some(token),
                    Some(&body),
                );
                if let Ok((s, _)) = &r {
                    if (200..300).contains(s) {
                        ledger.lock().unwrap().members.insert((gid, uid));
                    }
                }
                r
            }
        };
        match result {
            Ok((s, _)) if (200..300).contains(&s) => {
                stats.acked.fetch_add(1, Ordering::Relaxed);
            }
            Ok((s, body)) if s >= 500 => {
                stats.server_errors.fetch_add(1, Ordering::Relaxed);
                eprintln!("writer {id}: {s} {body}");
            }
            Ok((s, body)) => panic!("writer {id}: unexpected {s}: {body}"),
            Err(_) => {
                stats.unknown.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// GETs a path and parses it, asserting 200.
fn get_ok(addr: &str, path: &str, token: &str) -> Value {
    let (s, b) = http(addr, "GET", path, Some(token), None).expect("GET");
    assert_eq!(s, 200, "GET {path}: {b}");
    serde_json::from_str(&b).unwrap_or_else(|e| panic!("GET {path}: {e}: {b}"))
}

/// The ListResponse of `GET {base}/Users?filter=userName eq "{name}"`.
fn users_named(addr: &str, base: &str, token: &str, name: &str) -> Value {
    let filter = enc(&format!("userName eq \"{name}\""));
    get_ok(addr, &format!("{base}/Users?filter={filter}"), token)
}

/// The crash test on `backend`, its database URL ending in `url_parameters`.
fn crash_run(backend: Backend, url_parameters: &str) {
    let Some(db) = fresh_db(backend) else {
        return;
    };
    let bin = release_binary();
    eprintln!(
        "crash test on {backend:?}{url_parameters} with {}",
        bin.display()
    );
    let cycles = env_num("SCIMD_CRASH_CYCLES", 20);
    let budget = Duration::from_secs(env_num("SCIMD_CRASH_SECONDS", 90));
    let started = Instant::now();
    let url = format!("{}{url_parameters}", db.url());
    let logdir = tempfile::tempdir().expect("temp dir");
    let log = logdir.path().join("server.log");

    let (tenant, token, _) = tenant_with_token(&url);
    let base = format!("/scim/v2/{tenant}");
    let mut server = Server::start(&url, &log);
    let mut groups = Vec::new();
    for g in 0..4 {
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": format!("Crash group {g}")});
        let (s, b) = http(
            &server.addr,
            "POST",
            &format!("{base}/Groups"),
            Some(token.as_str()),
            Some(&body),
        )
        .expect("create group");
        assert_eq!(s, 201, "{b}");
        let v: Value = serde_json::from_str(&b).unwrap();
        groups.push(v["id"].as_str().unwrap().to_string());
    }

    let sh = Arc::new(Shared {
        addr: RwLock::new(server.addr.clone()),
        base: base.clone(),
        token: token.clone(),
        groups: groups.clone(),
        ledger: Mutex::new(Ledger::default()),
        stats: Stats::default(),
        stop: AtomicBool::new(false),
    });
    let writers: Vec<_> = (0..6)
        .map(|i| {
            let sh = sh.clone();
            std::thread::spawn(move || writer(i, sh))
        })
        .collect();

    let mut rng = rand::thread_rng();
    let mut done = 0;
    while done < cycles {
        std::thread::sleep(Duration::from_millis(rng.gen_range(50..500)));
        server.kill9();
        done += 1;
        server = Server::start(&url, &log);
        *sh.addr.write().unwrap() = server.addr.clone();
        if started.elapsed() > budget {
            break;
        }
    }
    // Some writes on the last server, then stop the writers.
    std::thread::sleep(Duration::from_millis(300));
    sh.stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer panicked");
    }

    // Verify on a freshly restarted server (after one more kill).
    server.kill9();
    let server = Server::start(&url, &log);
    let a = server.addr.clone();
    let l = sh.ledger.lock().unwrap();
    for (name, id) in &l.users {
        let r = users_named(&a, &base, &token, name);
        assert_eq!(r["totalResults"], 1, "acknowledged user {name} lost: {r}");
        assert_eq!(r["Resources"][0]["id"], id.as_str(), "{name}");
        let u = get_ok(&a, &format!("{base}/Users/{id}"), &token);
        assert_eq!(u["userName"], name.as_str());
        assert_eq!(u["emails"][0]["value"], name.as_str(), "{u}");
        if let Some(t) = l.titles.get(id) {
            let got: u64 = u["title"]
                .as_str()
                .and_then(|s| s.strip_prefix('t'))
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("user {name} lost its title: {u}"));
            assert!(got >= *t, "user {name}: title t{got}, acknowledged t{t}");
        }
    }
    // Every user in the store is whole and was written by a writer.
    let mut seen = 0usize;
    let mut start = 1;
    loop {
        let page = get_ok(
            &a,
            &format!("{base}/Users?startIndex={start}&count=500"),
            &token,
        );
        let items = page["Resources"].as_array().cloned().unwrap_or_default();
        for u in &items {
            let name = u["userName"].as_str().expect("userName");
            assert!(
                l.users.contains_key(name) || l.maybe_users.contains(name),
                "unknown user {name}"
            );
            let id = u["id"].as_str().expect("id");
            let full = get_ok(&a, &format!("{base}/Users/{id}"), &token);
            assert_eq!(full["meta"]["resourceType"], "User");
        }
        seen += items.len();
        if items.is_empty() || seen as u64 >= page["totalResults"].as_u64().unwrap() {
            break;
        }
        start += items.len();
    }
    assert!(seen >= l.users.len());
    for gid in &groups {
        let g = get_ok(&a, &format!("{base}/Groups/{gid}"), &token);
        let got: BTreeSet<String> = g["members"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| m["value"].as_str().unwrap().to_string())
            .collect();
        for (g2, uid) in &l.members {
            if g2 == gid {
                assert!(got.contains(uid), "acknowledged member {uid} of {gid} lost");
            }
        }
        for uid in &got {
            assert!(
                l.member_attempts.contains(&(gid.clone(), uid.clone())),
                "member {uid} of {gid} was never added"
            );
        }
    }
    let acked = sh.stats.acked.load(Ordering::Relaxed);
    let unknown = sh.stats.unknown.load(Ordering::Relaxed);
    let errors = sh.stats.server_errors.load(Ordering::Relaxed);
    eprintln!(
        "crash test on {backend:?}: {done} kill/restart cycles in {:.1} s; {acked} writes \
         acknowledged ({} users, {} title updates, {} member adds) and verified; {unknown} \
         without an answer; {errors} 5xx",
        started.elapsed().as_secs_f64(),
        l.users.len(),
        l.titles.len(),
        l.members.len(),
    );
    assert!(
        done >= cycles.min(20),
        "only {done} cycles within the budget"
    );
    assert!(acked > 0);
    assert_eq!(errors, 0, "5xx answers (see the log above)");
}

/// On SQLite's default, a file the server keeps to itself: its write-ahead-log index lives
/// in the process's memory, so every restart rebuilds it from the log; and every SIGKILL
/// leaves the control socket's file behind for the next start to replace.
#[test]
#[ignore = "needs the release binary; run by .ci/run with --ignored"]
fn crash_restart_sqlite_keeps_acknowledged_writes() {
    crash_run(Backend::Sqlite, "");
}

/// The same on a file shared with other processes (`?exclusive=false`: the index in the
/// `-shm` file).
#[test]
#[ignore = "needs the release binary; run by .ci/run with --ignored"]
fn crash_restart_sqlite_shared_keeps_acknowledged_writes() {
    crash_run(Backend::Sqlite, "?exclusive=false");
}

#[test]
#[ignore = "needs the release binary and PostgreSQL; run by .ci/run with --ignored"]
fn crash_restart_postgres_keeps_acknowledged_writes() {
    crash_run(Backend::Postgres, "");
}

/// SIGTERM stops the server gracefully: a request in flight (its body still arriving) is
/// answered and its write kept, new connections are refused meanwhile, and the process
/// exits by itself with status 0, the database closed.
#[test]
#[ignore = "needs the release binary; run by .ci/run with --ignored"]
fn crash_sigterm_lets_requests_in_flight_finish() {
    let db = fresh_db(Backend::Sqlite).expect("SQLite database");
    let url = db.url().to_string();
    let logdir = tempfile::tempdir().expect("temp dir");
    let log = logdir.path().join("server.log");
    let (tenant, token, _) = tenant_with_token(&url);
    let mut server = Server::start(&url, &log);

    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "in.flight@example.com",
    })
    .to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut s = TcpStream::connect(&server.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST /scim/v2/{tenant}/Users HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/scim+json\r\n\
         Content-Length: {}\r\n\r\n{first}",
        server.addr,
        body.len()
    )
    .expect("send the head and half the body");
    s.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.sigterm();
    // The listener closes: new connections are refused while the request is in flight.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&server.addr).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    s.write_all(rest.as_bytes())
        .expect("send the rest of the body");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("the answer");
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");

    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "scimd did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");
    // It closed the database on the way out (its workers let go of it first): SQLite
    // checkpointed and removed the write-ahead log, so the next start recovers nothing.
    let wal = format!(
        "{}-wal",
        url.strip_prefix("sqlite://").expect("a SQLite URL")
    );
    assert!(
        !std::path::Path::new(&wal).exists(),
        "the write-ahead log outlived the server"
    );
    let control = wal.replace("-wal", "-control");
    assert!(
        !std::path::Path::new(&control).exists(),
        "the control socket outlived the server"
    );

    let server = Server::start(&url, &log);
    let found = users_named(
        &server.addr,
        &format!("/scim/v2/{tenant}"),
        &token,
        "in.flight@example.com",
    );
    assert_eq!(found["totalResults"], 1, "{found}");
}

/// A server on SQLite keeps its file to itself by default, and the CLI's commands run
/// through the server's control socket: a tenant (with the server's SCIM link), a token that
/// works at once and stops working once revoked, a console account, an online backup that
/// another server can serve. Other processes still cannot open the file, with a message
/// naming the cause (shared or not). Once the server has stopped, its socket is gone and the
/// CLI opens the file itself.
#[test]
#[ignore = "needs the release binary; run by .ci/run with --ignored"]
fn the_cli_runs_through_the_server_that_keeps_its_sqlite_file() {
    let db = fresh_db(Backend::Sqlite).expect("SQLite database");
    let url = db.url().to_string();
    let logdir = tempfile::tempdir().expect("temp dir");
    let log = logdir.path().join("server.log");
    let (tenant, token, _) = tenant_with_token(&url);
    let mut server = Server::start(&url, &log);
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "kept@example.com",
    });
    let (status, created) = http(
        &server.addr,
        "POST",
        &format!("/scim/v2/{tenant}/Users"),
        Some(&token),
        Some(&body),
    )
    .expect("POST");
    assert_eq!(status, 201, "{created}");

    // Through the server: the SCIM link is the server's (the CLI's own default would be
    // http://127.0.0.1:8080).
    let t = cli(&url, &["tenant", "create", "--name", "Second"]);
    let second = t["tenant_id"].as_str().expect("tenant id").to_string();
    assert_eq!(
        t["scim_url"],
        format!("http://{}/scim/v2/{second}", server.addr)
    );
    let k = cli(
        &url,
        &["token", "create", "--tenant", &second, "--name", "e"],
    );
    let second_token = k["token"].as_str().expect("token").to_string();
    let second_users = format!("/scim/v2/{second}/Users");
    let list_second = || {
        http(
            &server.addr,
            "GET",
            &second_users,
            Some(&second_token),
            None,
        )
        .expect("GET")
        .0
    };
    assert_eq!(list_second(), 200);
    let token_id = k["token_id"].as_str().expect("token id");
    let r = cli(
        &url,
        &[
            "token",
            "revoke",
            "--tenant",
            &second,
            "--token-id",
            token_id,
        ],
    );
    assert_eq!(r["revoked"], true, "{r}");
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        if list_second() == 401 {
            break;
        }
        assert!(Instant::now() < deadline, "the revoked token still works");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (ok, account, stderr) = cli_with_input(
        &url,
        &[
            "admin",
            "create",
            "--tenant",
            &second,
            "--email",
            "o@example.com",
            "--role",
            "owner",
        ],
        "correct horse battery staple\n",
    );
    assert!(ok, "{stderr}");
    assert_eq!(account["role"], "owner", "{account}");
    let (ok, _, stderr) = cli_with_input(
        &url,
        &[
            "admin",
            "create",
            "--tenant",
            "nope",
            "--email",
            "x@example.com",
            "--role",
            "admin",
        ],
        "correct horse battery staple\n",
    );
    assert!(!ok && stderr.contains("no tenant nope"), "{stderr}");

    let backup = logdir.path().join("backup.db");
    let b = cli(
        &url,
        &["db", "backup", "--to", &backup.display().to_string()],
    );
    assert_eq!(b["backup"], backup.display().to_string());

    // Any other process's open of the file is refused, shared or not.
    for from in [url.clone(), format!("{url}?exclusive=false")] {
        let target = logdir.path().join(format!("copy{}.db", from.len()));
        let out = Command::new(release_binary())
            .args(["--json", "db", "copy", "--from", &from])
            .arg("--to")
            .arg(format!("sqlite://{}", target.display()))
            .env("SCIMD_LOG", "warn")
            .output()
            .expect("run scimd");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "db copy opened {from}: {stderr}");
        assert!(
            stderr.contains("locked by another process"),
            "{from}: {stderr}"
        );
    }

    server.sigterm();
    let status = server.child.wait().expect("wait");
    assert!(status.success(), "exit status {status}");
    let control = format!("{}-control", url.strip_prefix("sqlite://").expect("path"));
    assert!(
        !std::path::Path::new(&control).exists(),
        "{control} outlived the server"
    );
    let after = cli(&url, &["tenant", "create", "--name", "After"]);
    assert!(
        after["scim_url"]
            .as_str()
            .expect("url")
            .starts_with("http://127.0.0.1:8080/"),
        "{after}"
    );

    // The backup serves what the server had written.
    let copy = Server::start(&format!("sqlite://{}", backup.display()), &log);
    let found = users_named(
        &copy.addr,
        &format!("/scim/v2/{tenant}"),
        &token,
        "kept@example.com",
    );
    assert_eq!(found["totalResults"], 1, "{found}");
    drop(copy);

    let server = Server::start(&url, &log);
    let found = users_named(
        &server.addr,
        &format!("/scim/v2/{tenant}"),
        &token,
        "kept@example.com",
    );
    assert_eq!(found["totalResults"], 1, "{found}");
}
