//! The console end to end in a real browser: the release binary on a temp SQLite file,
//! headless Chromium through chromedriver (see `webdriver.rs`), from the first-run setup
//! link to revoking the token Entra would use. Saves a screenshot of every page under
//! `target/console-screenshots/` (docs/console.md shows them).
//!
//! Ignored by default (it needs a browser and the release binary); `.ci/run` runs it with
//! `SCIMD_E2E=1 … -- --ignored`. With `SCIMD_E2E=1` it is mandatory: a missing Chromium,
//! chromedriver or release binary fails it. Without it (`-- --ignored` alone), a machine
//! without Chromium or chromedriver skips it with a note.
//!
//! ```sh
//! cargo build --release
//! SCIMD_E2E=1 cargo test --test integration console_e2e -- --ignored --nocapture
//! ```

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::webdriver::{free_port, http, HttpResponse, WebDriver};

const OWNER_EMAIL: &str = "owner@contoso.example";
const OWNER_PASSWORD: &str = "correct horse battery staple";
const ENTRA_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const FINANCE_USER: &str = "adele.vance@contoso.example";
const STANDARD_USER: &str = "alex.wilber@contoso.example";
const COMPANY: &str = "Contoso Finance";

/// The release binary: `$CARGO_TARGET_DIR/release/scimd` (default `~/.cache/scimd/target`).
fn release_binary() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .ok()
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| ".".into()))
                .join(".cache/scimd/target")
        });
    target.join("release/scimd")
}

/// `target/console-screenshots` of this crate.
fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots")
}

/// A scimd server process on a temp SQLite file; killed by its PID on drop.
struct Server {
    child: Child,
    addr: String,
    origin: String,
    setup_link: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(bin: &Path) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let origin = format!("http://{addr}");
        let log = dir.path().join("server.log");
        let mut child = Command::new(bin)
            .arg("--database-url")
            .arg(format!(
                "sqlite://{}",
                dir.path().join("scimd.db").display()
            ))
            .args(["--listen", &addr, "--public-url", &origin])
            .env("SCIMD_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(&log).expect("server log file"),
            ))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        // Read stdout for the setup link, and keep draining it afterwards.
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("First run: open ") {
                    let link = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(link.to_string());
                }
            }
        });
        let mut server = Server {
            child,
            addr,
            origin,
            setup_link: String::new(),
            log,
            _dir: dir,
        };
        server.setup_link = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                panic!(
                    "scimd printed no 'First run: open …' link within 30 s; log:\n{}",
                    server.log_text()
                )
            });
        let deadline = Instant::now() + Duration::from_secs(30);
        while http("GET", &server.addr, "/console/login", &[], None).is_err() {
            assert!(
                Instant::now() < deadline,
                "scimd did not listen on {} within 30 s; log:\n{}",
                server.addr,
                server.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A SCIM request with a bearer token; `url` is absolute under this server.
    fn scim(&self, method: &str, url: &str, token: &str, body: Option<&str>) -> HttpResponse {
        let path = url
            .strip_prefix(&self.origin)
            .unwrap_or_else(|| panic!("{url} is not under {}", self.origin));
        let auth = format!("Bearer {token}");
        http(
            method,
            &self.addr,
            path,
            &[
                ("Authorization", auth.as_str()),
                ("Accept", "application/scim+json"),
                ("Content-Type", "application/scim+json"),
            ],
            body,
        )
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The browser plus where pages and screenshots go.
struct Console<'a> {
    wd: &'a WebDriver,
    origin: String,
    shots: PathBuf,
    taken: Vec<PathBuf>,
    /// Pages that answered "Not found" (a console branch not merged yet).
    missing: Vec<String>,
    /// Checks that failed but let the flow go on (reported together at the end).
    failures: Vec<String>,
}

impl Console<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// Opens a console page; false (and noted) if the server has no such page yet.
    fn open(&mut self, path: &str) -> bool {
        self.wd.goto(&self.url(path));
        let heading = self
            .wd
            .try_find("main h1")
            .and_then(|h| self.wd.text(&h).ok())
            .unwrap_or_default();
        if heading == "Not found" {
            eprintln!("console page {path} is missing (its branch is not merged yet)");
            self.missing.push(path.to_string());
            return false;
        }
        true
    }

    #[track_caller]
    fn shot(&mut self, name: &str) {
        let path = self.shots.join(format!("{name}.png"));
        match self.wd.screenshot(&path) {
            Ok(p) => self.taken.push(p),
            Err(e) => panic!("screenshot {name}: {e}"),
        }
    }

    #[track_caller]
    fn click(&self, css: &str) {
        let e = self.wd.find(css);
        self.wd.click(&e);
    }

    #[track_caller]
    fn expect_path(&self, prefix: &str) -> String {
        self.wd.wait_for_path(&self.origin, prefix)
    }

    /// Sets a form field whatever it is: text input, select (by option text or value) or
    /// checkbox ("true"/"false").
    #[track_caller]
    fn set(&self, css: &str, value: &str) {
        let e = self.wd.find(css);
        let tag = self
            .wd
            .cmd("GET", &format!("/element/{}/name", e.id), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_ascii_lowercase))
            .unwrap_or_default();
        let kind = self.wd.attribute(&e, "type").unwrap_or_default();
        if tag == "select" {
            let options = self.wd.find_within(&e, "option");
            let option = options
                .iter()
                .find(|o| {
                    self.wd.text(o).is_ok_and(|t| t.trim() == value)
                        || self.wd.attribute(o, "value").as_deref() == Some(value)
                })
                .unwrap_or_else(|| panic!("`{css}` has no option {value:?}"));
            self.wd.click(option);
            assert!(self.wd.is_selected(option), "`{css}` option {value:?}");
        } else if kind == "checkbox" || kind == "radio" {
            let want = value == "true";
            if self.wd.is_selected(&e) != want {
                self.wd.click(&e);
            }
            assert_eq!(self.wd.is_selected(&e), want, "`{css}` checked");
        } else {
            self.wd.clear(&e);
            self.wd.send_keys(&e, value);
        }
    }

    /// Checks exactly the role checkboxes (`input.config-role`) whose label names a role in
    /// `roles`.
    #[track_caller]
    fn choose_roles(&self, roles: &[&str]) {
        let boxes = self.wd.find_all("input.config-role");
        assert!(!boxes.is_empty(), "no input.config-role checkboxes");
        let mut found = 0;
        for b in &boxes {
            let id = self.wd.attribute(b, "id").unwrap_or_default();
            let label = if id.is_empty() {
                None
            } else {
                self.wd.try_find(&format!("label[for='{id}']"))
            };
            // The role's name: the box's label (wrapping or `for=`), else its value.
            let wrapping = self
                .wd
                .cmd(
                    "POST",
                    &format!("/element/{}/element", b.id),
                    Some(json!({"using": "xpath", "value": "ancestor::label[1]"})),
                )
                .ok()
                .and_then(|v| v[ELEMENT].as_str().map(str::to_string));
            let name = label
                .and_then(|l| self.wd.text(&l).ok())
                .or_else(|| {
                    wrapping.and_then(|id| {
                        self.wd
                            .text(&crate::webdriver::Element {
                                id,
                                css: "label".into(),
                            })
                            .ok()
                    })
                })
                .filter(|t| !t.trim().is_empty())
                .or_else(|| self.wd.attribute(b, "value"))
                .unwrap_or_default();
            let want = roles
                .iter()
                .any(|r| name.split_whitespace().any(|w| w == *r));
            found += usize::from(want);
            if self.wd.is_selected(b) != want {
                self.wd.click(b);
            }
        }
        assert_eq!(found, roles.len(), "role checkboxes for {roles:?}");
    }

    /// A check that lets the flow go on when it fails (reported at the end).
    fn check(&mut self, ok: bool, what: String) {
        if !ok {
            eprintln!("CHECK FAILED: {what}");
            self.failures.push(what);
        }
    }

    /// The text of the row of table `table` that has a cell reading exactly `cell`
    /// (waiting for it to appear).
    #[track_caller]
    fn row_with(&self, table: &str, cell: &str) -> String {
        self.row_cells(table, cell).join(" | ")
    }

    /// The cell texts of the row of table `table` that has a cell reading exactly `cell`
    /// (waiting for it to appear).
    #[track_caller]
    fn row_cells(&self, table: &str, cell: &str) -> Vec<String> {
        let deadline = Instant::now() + self.wd.timeout;
        loop {
            for row in self.wd.find_all(&format!("{table} tbody tr")) {
                let cells: Vec<String> = self
                    .wd
                    .find_within(&row, "td")
                    .iter()
                    .map(|td| self.wd.text(td).unwrap_or_default().trim().to_string())
                    .collect();
                if cells.iter().any(|t| t == cell) {
                    return cells;
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "no row of {table} has a cell {cell:?} on {} — page text:\n{}",
                    self.wd.current_url(),
                    self.wd.page_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn scim_user(user_name: &str, given: &str, family: &str, filter: Option<&str>) -> String {
    let mut user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "active": true,
        "displayName": format!("{given} {family}"),
        "name": {"givenName": given, "familyName": family},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "externalId": uuid::Uuid::new_v4().to_string(),
    });
    if let Some(f) = filter {
        let ext = "urn:ietf:params:scim:schemas:extension:medius:2.0:User";
        user["schemas"]
            .as_array_mut()
            .expect("schemas")
            .push(json!(ext));
        user[ext] = json!({ "configurationFilter": f });
    }
    user.to_string()
}

#[test]
#[ignore = "browser test: cargo build --release; SCIMD_E2E=1 cargo test --test integration console_e2e -- --ignored"]
fn console_e2e() {
    let mandatory = std::env::var("SCIMD_E2E").is_ok_and(|v| v == "1");
    if !WebDriver::available() {
        assert!(
            !mandatory,
            "SCIMD_E2E=1 but {} or {} is missing: apt-get install -y chromium chromium-driver",
            crate::webdriver::CHROMIUM,
            crate::webdriver::CHROMEDRIVER
        );
        eprintln!(
            "skipping the console browser test: {} or {} is missing (SCIMD_E2E=1 makes it mandatory)",
            crate::webdriver::CHROMIUM,
            crate::webdriver::CHROMEDRIVER
        );
        return;
    }
    let bin = release_binary();
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release` first (with the same CARGO_TARGET_DIR)",
        bin.display()
    );

    let server = Server::start(&bin);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| flow(&server)));
    if let Err(panic) = result {
        eprintln!("--- scimd log ---\n{}", server.log_text());
        std::panic::resume_unwind(panic);
    }
}

fn flow(server: &Server) {
    let shots = screenshot_dir();
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let wd = WebDriver::start().expect("browser");
    let mut c = Console {
        wd: &wd,
        origin: server.origin.clone(),
        shots,
        taken: Vec::new(),
        missing: Vec::new(),
        failures: Vec::new(),
    };
    let origin = server.origin.clone();

    // 1. First-run setup through the one-time link.
    assert!(
        server
            .setup_link
            .starts_with(&format!("{origin}/console/setup?token=")),
        "setup link {}",
        server.setup_link
    );
    wd.goto(&server.setup_link);
    c.set("#tenant_name", "Contoso");
    c.set("#email", OWNER_EMAIL);
    c.set("#password", OWNER_PASSWORD);
    c.shot("01-setup");
    c.click("#create-owner");
    c.expect_path("/console/settings");
    wd.wait_for_text("header", OWNER_EMAIL);
    let tenant_id = wd.value("#tenant-id");
    assert!(
        uuid::Uuid::parse_str(&tenant_id).is_ok(),
        "tenant id {tenant_id:?}"
    );
    assert_eq!(wd.value("#tenant-name"), "Contoso");

    // The link works once.
    let again = http(
        "GET",
        &server.addr,
        server.setup_link.strip_prefix(&origin).expect("path"),
        &[],
        None,
    )
    .expect("setup link again");
    assert_eq!(again.status, 403, "a used setup link: {}", again.body);

    // 2. Tenant settings: the Entra tenant id.
    c.set("#entra-tenant-id", ENTRA_TENANT);
    c.click("#save-settings");
    c.expect_path("/console/settings?saved=1");
    wd.wait_for_text("#flash", "Settings saved");
    assert_eq!(wd.value("#entra-tenant-id"), ENTRA_TENANT);
    assert_eq!(
        wd.property(&wd.find("#provisioning-enabled"), "checked"),
        true
    );
    c.shot("02-settings");

    // 3. Sign out, then sign in again.
    c.click("#logout");
    c.expect_path("/console/login");
    wd.goto(&c.url("/console/settings"));
    c.expect_path("/console/login");
    c.set("#tenant_id", &tenant_id);
    c.set("#email", OWNER_EMAIL);
    c.set("#password", OWNER_PASSWORD);
    c.shot("03-login");
    c.click("#sign-in");
    c.expect_path("/console/settings");
    wd.wait_for_text("header", OWNER_EMAIL);

    // 4. Companies and roles.
    if c.open("/console/companies") {
        c.set("#company-name", COMPANY);
        c.click("#add-company");
        c.expect_path("/console/companies");
        c.row_with("#companies", COMPANY);
        for role in ["Approver", "Viewer"] {
            c.set("#role-name", role);
            c.click("#add-role");
            c.expect_path("/console/companies");
            c.row_with("#roles", role);
        }
        c.shot("04-companies");
    }

    // 5. Default user configurations: "Standard" (the default) and "Finance".
    if c.open("/console/configurations") {
        for (name, filter, default, roles) in [
            ("Standard", "", true, &["Viewer"][..]),
            ("Finance", "finance", false, &["Approver", "Viewer"][..]),
        ] {
            c.set("#config-name", name);
            c.set("#config-company", COMPANY);
            c.choose_roles(roles);
            c.set("#config-locale", "en-US");
            c.set("#config-language", "en");
            c.set("#config-timezone", "Europe/Stockholm");
            c.set("#config-filter", filter);
            c.set("#config-default", if default { "true" } else { "false" });
            c.click("#add-configuration");
            c.expect_path("/console/configurations");
            let row = c.row_with("#configurations", name);
            assert!(row.contains(COMPANY), "{row}");
            for role in roles {
                assert!(row.contains(role), "{role} in {row}");
            }
            if !filter.is_empty() {
                assert!(row.contains(filter), "{row}");
            }
        }
        // Edited: Finance gets another locale through its edit form.
        c.click("#configurations tr:not(.default) a.edit");
        wd.wait_for_text("#edit-configuration-form h2", "Finance");
        assert_eq!(
            wd.value("#config-locale"),
            "en-US",
            "the form shows the values"
        );
        c.set("#config-locale", "sv-SE");
        c.click("#save-configuration");
        wd.wait_for_text("#flash", "Configuration changed");
        let row = c.row_with("#configurations", "Finance");
        assert!(row.contains("sv-SE"), "{row}");
        let default_row = wd.find("#configurations tr.default td.name");
        assert_eq!(wd.text(&default_row).expect("default").trim(), "Standard");
        assert_eq!(wd.find_all("#configurations tr.default").len(), 1);
        c.shot("05-configurations");
    }

    // 6. A secret token (re-asks the password, confirm dialog, shown once).
    assert!(c.open("/console/tokens"));
    c.set("#token-name", "Entra ID production");
    c.set("#token-password", OWNER_PASSWORD);
    c.click("#generate-token");
    let confirm = wd.accept_alert();
    assert!(confirm.contains("generate"), "confirm text {confirm:?}");
    c.expect_path("/console/tokens");
    let token = wd.value("#new-token");
    assert!(token.len() > 40, "token {token:?}");
    let row = c.row_with("#tokens", "Entra ID production");
    assert!(row.contains(OWNER_EMAIL), "{row}");
    assert!(row.contains("generated"), "{row}");
    c.shot("06-token-generated");

    // 7. SCIM link and Test connection.
    assert!(c.open("/console/scim-link"));
    let scim_link = wd.value("#scim-link");
    assert_eq!(scim_link, format!("{origin}/scim/v2/{tenant_id}"));
    c.set("#test-token", &token);
    c.click("#test-connection");
    c.expect_path("/console/test-connection");
    wd.wait_for_text("#test-result", "passed");
    c.shot("07-scim-link");

    // 8. Entra provisions two users with that token.
    let users = format!("{scim_link}/Users");
    let finance = server.scim(
        "POST",
        &users,
        &token,
        Some(&scim_user(FINANCE_USER, "Adele", "Vance", Some("finance"))),
    );
    assert_eq!(finance.status, 201, "{}", finance.body);
    let standard = server.scim(
        "POST",
        &users,
        &token,
        Some(&scim_user(STANDARD_USER, "Alex", "Wilber", None)),
    );
    assert_eq!(standard.status, 201, "{}", standard.body);
    let list = server.scim("GET", &users, &token, None);
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.json()["totalResults"], 2, "{}", list.body);

    // 9. Users: both, with the configuration applied and its company.
    if c.open("/console/users") {
        for (user, configuration) in [(FINANCE_USER, "Finance"), (STANDARD_USER, "Standard")] {
            let cells = c.row_cells("#users", user);
            c.check(
                cells
                    .iter()
                    .any(|t| t.starts_with(configuration) && t.contains(COMPANY)),
                format!("/console/users: {user} shows configuration {configuration} of {COMPANY}: {cells:?}"),
            );
        }
        c.shot("08-users");
    }

    // 10. Provisioning log: both creates.
    if c.open("/console/provisioning-log") {
        for user in [FINANCE_USER, STANDARD_USER] {
            let cells = c.row_cells("#provisioning-log", user);
            let row = cells.join(" | ").to_lowercase();
            c.check(
                (row.contains("post") || row.contains("create"))
                    && (row.contains("201") || row.contains("success")),
                format!("/console/provisioning-log: a successful create of {user}: {cells:?}"),
            );
        }
        c.shot("09-provisioning-log");
    }

    // 11. Revoke the token: SCIM refuses it at once.
    assert!(c.open("/console/tokens"));
    let rows = wd.find_all("#tokens tbody tr");
    assert_eq!(rows.len(), 1, "one token row");
    let password = wd
        .find_within(&rows[0], "input.revoke-password")
        .pop()
        .expect("input.revoke-password");
    wd.send_keys(&password, OWNER_PASSWORD);
    let revoke = wd
        .find_within(&rows[0], "button.revoke")
        .pop()
        .expect("button.revoke");
    wd.click(&revoke);
    let confirm = wd.accept_alert();
    assert!(confirm.contains("Revoke"), "confirm text {confirm:?}");
    c.expect_path("/console/tokens?revoked=1");
    wd.wait_for_text("#flash", "Token revoked");
    let refused = server.scim("GET", &users, &token, None);
    assert_eq!(refused.status, 401, "{}", refused.body);
    let status = wd.find("#tokens tbody tr td.status");
    assert_eq!(wd.text(&status).expect("status").trim(), "revoked");
    c.shot("10-token-revoked");

    eprintln!("screenshots:");
    for p in &c.taken {
        eprintln!("  {}", p.display());
    }
    assert!(
        c.missing.is_empty(),
        "console pages missing (merge the console branches): {:?}",
        c.missing
    );
    assert!(c.failures.is_empty(), "failed checks: {:#?}", c.failures);
}
