//! Test support: a fresh database per test (a temp SQLite file, or a PostgreSQL schema of
//! its own), a tenant with a token, and an in-process app to send SCIM requests to.

use std::sync::Arc;

use actix_web::http::{header, Method, StatusCode};
use actix_web::test;
use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use serde_json::Value;

use scimd::config::HttpSettings;
use scimd::http::AppState;
use scimd::store::Store;
use scimd::{scimd_app, token};

/// The PostgreSQL server for tests: `SCIMD_TEST_POSTGRES_URL`. `.ci/run` sets it and
/// `SCIMD_REQUIRE_POSTGRES=1`; without them the PostgreSQL half is skipped, saying so.
pub fn postgres_url() -> Option<String> {
    match std::env::var("SCIMD_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("SCIMD_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("SCIMD_REQUIRE_POSTGRES=1 but SCIMD_TEST_POSTGRES_URL is not set");
            }
            eprintln!("skipping PostgreSQL: set SCIMD_TEST_POSTGRES_URL to run it");
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test and is removed after it.
pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        schema: String,
        url: String,
    },
}

impl TestDb {
    /// `None` when the backend is PostgreSQL and no server is configured.
    pub fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("scimd.db").display());
                Some(TestDb::Sqlite { _dir: dir, url })
            }
            Backend::Postgres => {
                let admin_url = postgres_url()?;
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                let mut conn = PgConnection::establish(&admin_url).expect("connect to PostgreSQL");
                conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("create schema");
                let sep = if admin_url.contains('?') { '&' } else { '?' };
                let url = format!("{admin_url}{sep}options=-csearch_path%3D{schema}");
                Some(TestDb::Postgres {
                    admin_url,
                    schema,
                    url,
                })
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres {
            admin_url, schema, ..
        } = self
        {
            if let Ok(mut conn) = PgConnection::establish(admin_url) {
                let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

/// A response: status, headers, parsed JSON body (Null when empty).
pub struct Resp {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: Value,
    pub raw: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a SCIM error with this status and scimType.
    #[track_caller]
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.raw);
        assert_eq!(
            self.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "body: {}",
            self.raw
        );
        assert_eq!(
            self.body["status"],
            status.to_string(),
            "body: {}",
            self.raw
        );
        assert_eq!(
            self.body["scimType"].as_str(),
            scim_type,
            "body: {}",
            self.raw
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/scim+json"),
            "content type"
        );
    }
}

/// A tenant with a token on a fresh database, and the app serving it.
pub struct TestEnv {
    #[allow(dead_code)] // for tests that differ per backend
    pub backend: Backend,
    pub state: AppState,
    pub tenant_id: String,
    pub token: String,
    pub token_id: String,
    /// Held for its `Drop` (removes the database after the test).
    #[allow(dead_code)]
    pub db: TestDb,
}

impl TestEnv {
    pub async fn new(backend: Backend) -> Option<TestEnv> {
        let db = TestDb::new(backend)?;
        let url = db.url().to_string();
        let store = actix_web::web::block(move || Store::open(&url, 8))
            .await
            .expect("block")
            .expect("open store");
        let settings = HttpSettings {
            public_url: "https://scimd.example".into(),
            self_url: "http://127.0.0.1:9".into(),
            max_body_bytes: 1024 * 1024,
            limits: Default::default(),
        };
        let state = AppState::new(store, settings);
        let mut env = TestEnv {
            backend,
            state,
            tenant_id: String::new(),
            token: String::new(),
            token_id: String::new(),
            db,
        };
        let (tenant, tok, tok_id) = env.new_tenant("Acme").await;
        env.tenant_id = tenant;
        env.token = tok;
        env.token_id = tok_id;
        Some(env)
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// Creates another tenant with a token: (tenant id, token, token id).
    pub async fn new_tenant(&self, name: &str) -> (String, String, String) {
        let store = self.state.store.clone();
        let name = name.to_string();
        actix_web::web::block(move || {
            let now = Utc::now();
            let tenant = store.create_tenant(&name, now).expect("tenant");
            let t = token::generate();
            store
                .insert_token(
                    &scimd::store::tenants::NewTokenRecord {
                        tenant: &tenant.id,
                        id: &t.id,
                        secret_sha256: &t.secret_sha256,
                        name: "test",
                        created_by: None,
                        expires_at: None,
                    },
                    now,
                )
                .expect("token");
            (tenant.id, t.token, t.id)
        })
        .await
        .expect("block")
    }

    /// The SCIM base path of the env's tenant.
    pub fn base(&self) -> String {
        format!("/scim/v2/{}", self.tenant_id)
    }

    /// Sends a request with the env's token to `path` under the tenant's SCIM base.
    pub async fn scim(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let uri = format!("{}{}", self.base(), path);
        let token = self.token.clone();
        self.send(
            method,
            &uri,
            body.map(|b| b.to_string().into_bytes()),
            &[
                ("authorization", format!("Bearer {token}")),
                ("content-type", "application/scim+json".to_string()),
            ],
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.scim(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.scim(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.scim(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.scim(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.scim(Method::DELETE, path, None).await
    }

    /// Sends an arbitrary request (full URI, raw body, headers).
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        body: Option<Vec<u8>>,
        headers: &[(&str, String)],
    ) -> Resp {
        let app = test::init_service(scimd_app!(self.state.clone())).await;
        let mut req = test::TestRequest::default().method(method).uri(uri);
        for (k, v) in headers {
            req = req.insert_header((*k, v.as_str()));
        }
        if let Some(b) = body {
            req = req.set_payload(b);
        }
        let resp = test::call_service(&app, req.to_request()).await;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = test::read_body(resp).await;
        let raw = String::from_utf8_lossy(&bytes).to_string();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Resp {
            status,
            headers,
            body,
            raw,
        }
    }

    /// Sends a request under the tenant's SCIM base with the token, a JSON body and extra
    /// headers (e.g. `If-Match`).
    pub async fn scim_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        extra: &[(&str, String)],
    ) -> Resp {
        let uri = format!("{}{}", self.base(), path);
        let mut headers = vec![
            ("authorization", format!("Bearer {}", self.token)),
            ("content-type", "application/scim+json".to_string()),
        ];
        headers.extend(extra.iter().cloned());
        self.send(
            method,
            &uri,
            body.map(|b| b.to_string().into_bytes()),
            &headers,
        )
        .await
    }

    /// GETs `path` under another tenant's SCIM base, with that tenant's token.
    pub async fn get_as(&self, tenant: &str, token: &str, path: &str) -> Resp {
        self.send(
            Method::GET,
            &format!("/scim/v2/{tenant}{path}"),
            None,
            &[("authorization", format!("Bearer {token}"))],
        )
        .await
    }

    /// GETs `path` and asserts 200; returns the body.
    pub async fn get_ok(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "GET {path}: {}", r.raw);
        r.body
    }

    /// The public SCIM URL of the env's tenant (`meta.location` prefix).
    pub fn public_base(&self) -> String {
        format!("https://scimd.example/scim/v2/{}", self.tenant_id)
    }

    /// Fixes the server clock at `t` (and returns a handle to move it).
    pub fn fix_clock(
        &mut self,
        t: chrono::DateTime<Utc>,
    ) -> Arc<std::sync::Mutex<chrono::DateTime<Utc>>> {
        let now = Arc::new(std::sync::Mutex::new(t));
        let handle = now.clone();
        self.state.clock = Arc::new(move || *now.lock().expect("clock"));
        handle
    }

    /// Creates a user and returns its id.
    pub async fn create_user(&self, user_name: &str) -> String {
        let r = self
            .post(
                "/Users",
                serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": user_name,
                    "active": true,
                }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
        r.body["id"].as_str().expect("id").to_string()
    }

    /// Creates `n` users, `{prefix}00@example.com` upwards, one after the other; their ids in
    /// creation order.
    pub async fn create_users(&self, prefix: &str, n: usize) -> Vec<String> {
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            ids.push(
                self.create_user(&format!("{prefix}{i:02}@example.com"))
                    .await,
            );
        }
        ids
    }

    /// Creates a group and returns its id.
    pub async fn create_group(&self, display_name: &str) -> String {
        let r = self
            .post(
                "/Groups",
                serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": display_name,
                }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
        r.body["id"].as_str().expect("id").to_string()
    }
}

/// The `id`s of a ListResponse's `Resources`, in the order listed.
pub fn resource_ids(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no Resources: {list}"))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// The `value`s of a group's `members`, sorted (none when it has no `members`).
pub fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["value"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// A PatchOp request body with these operations.
pub fn patch_op(ops: Value) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": ops,
    })
}

/// `s` percent-encoded for a query string.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Declares a test that runs on SQLite and on PostgreSQL:
/// `both_backends!(name, |env| async move { … })`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[actix_web::test]
            async fn sqlite() {
                if let Some(env) =
                    $crate::support::TestEnv::new($crate::support::Backend::Sqlite).await
                {
                    ($body)(env).await;
                }
            }

            #[actix_web::test]
            async fn postgres() {
                if let Some(env) =
                    $crate::support::TestEnv::new($crate::support::Backend::Postgres).await
                {
                    ($body)(env).await;
                }
            }
        }
    };
}

/// The password of console accounts made by [`TestEnv::console_sign_in`].
pub const CONSOLE_PASSWORD: &str = "correct horse battery";

/// A console session made directly in the store.
pub struct ConsoleSession {
    pub account: scimd::store::console::Account,
    /// The `Cookie` header value.
    pub cookie: String,
    pub csrf: String,
}

impl TestEnv {
    /// A session for an existing console account.
    pub fn console_session(&self, account: &scimd::store::console::Account) -> ConsoleSession {
        let sid = scimd::console::random_secret();
        let csrf = scimd::console::random_secret();
        self.store()
            .create_session(&token::digest(&sid), account, &csrf, self.state.now())
            .expect("session");
        ConsoleSession {
            account: account.clone(),
            cookie: format!("{}={sid}", scimd::console::session_cookie_name(&self.state)),
            csrf,
        }
    }

    /// Creates a console account of `tenant` (password [`CONSOLE_PASSWORD`]) and a session.
    pub fn console_sign_in(
        &self,
        tenant: &str,
        email: &str,
        role: scimd::store::console::Role,
    ) -> ConsoleSession {
        let hash = scimd::password::hash(CONSOLE_PASSWORD).expect("hash");
        let account = self
            .store()
            .create_account(tenant, email, &hash, role, self.state.now())
            .expect("account");
        self.console_session(&account)
    }
}
