//! A minimal W3C WebDriver client (no extra crates): HTTP/1.1 over `std::net::TcpStream`
//! with `Connection: close`, JSON through serde_json. It starts `chromedriver` on a free
//! port as a child process and drives a headless Chromium with a fresh profile.
//!
//! Also home of the tiny HTTP client the browser test uses to call the SCIM API.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The W3C element reference key.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A free TCP port on 127.0.0.1 (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// An HTTP response: status, lower-cased headers, body.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (Null when empty or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// One HTTP/1.1 request to `addr` (`host:port`), `Connection: close`.
pub fn http(
    method: &str,
    addr: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(60)))?;
    let body = body.unwrap_or("");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes())?;
    // Read until the body is complete: chromedriver answers `Connection: close` but keeps
    // the socket open, so EOF cannot be the end marker.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if response_complete(&raw, method == "HEAD") {
            break;
        }
    }
    parse_response(&raw)
}

/// True once `raw` holds the whole response (headers, and the body by Content-Length or
/// the last chunk); without either, the body ends at EOF.
fn response_complete(raw: &[u8], head_only: bool) -> bool {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let body = &raw[split + 4..];
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
        return true;
    }
    let header = |name: &str| {
        head.split("\r\n")
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim() == name)
            .map(|(_, v)| v.trim().to_string())
    };
    if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        return dechunk(body).is_some();
    }
    match header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        Some(len) => body.len() >= len,
        None => false,
    }
}

fn parse_response(raw: &[u8]) -> std::io::Result<HttpResponse> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of HTTP headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut payload = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no HTTP status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        payload = dechunk(&payload).ok_or_else(|| bad("bad chunked body"))?;
    } else if let Some(len) = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        payload.truncate(len);
    }
    Ok(HttpResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&payload).to_string(),
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n")?;
        let size_line = std::str::from_utf8(&data[..eol]).ok()?;
        let size = usize::from_str_radix(size_line.split(';').next()?.trim(), 16).ok()?;
        data = &data[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// Standard base64 (with padding) to bytes.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let clean: Vec<u8> = s
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c)? << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        match chunk.len() {
            4 => out.extend_from_slice(&bytes),
            3 => out.extend_from_slice(&bytes[..2]),
            2 => out.push(bytes[0]),
            _ => return None,
        }
    }
    Some(out)
}

/// A WebDriver error (the `value.error` code and message, or a transport failure).
#[derive(Debug, Clone)]
pub struct WdError {
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "webdriver {}: {}", self.error, self.message)
    }
}

/// A found element.
#[derive(Debug, Clone)]
pub struct Element {
    pub id: String,
    /// The selector it was found by (for messages).
    pub css: String,
}

/// A running chromedriver with one browser session. Dropping it ends the session and
/// kills chromedriver by its PID.
pub struct WebDriver {
    child: Child,
    addr: String,
    session: Option<String>,
    _profile: tempfile::TempDir,
    /// Waits for elements and conditions.
    pub timeout: Duration,
}

impl WebDriver {
    /// True if Chromium and chromedriver are installed.
    pub fn available() -> bool {
        Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists()
    }

    /// Starts chromedriver on a free port and a headless Chromium session.
    pub fn start() -> Result<WebDriver, String> {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {CHROMEDRIVER}: {e}"))?;
        let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut driver = WebDriver {
            child,
            addr: format!("127.0.0.1:{port}"),
            session: None,
            _profile: profile,
            timeout: Duration::from_secs(10),
        };
        // Wait until chromedriver answers /status with ready.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http("GET", &driver.addr, "/status", &[], None) {
                if r.json()["value"]["ready"] == true {
                    break;
                }
            }
            if Instant::now() > deadline {
                return Err("chromedriver did not become ready within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile_dir = driver._profile.path().display().to_string();
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "unhandledPromptBehavior": "ignore",
                    "goog:chromeOptions": {
                        "binary": CHROMIUM,
                        "args": [
                            "--headless",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-quic",
                            "--no-first-run",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--disable-dev-shm-usage",
                            "--window-size=1280,1000",
                            format!("--user-data-dir={profile_dir}"),
                        ],
                    },
                },
            },
        });
        let v = driver
            .raw("POST", "/session", Some(caps))
            .map_err(|e| format!("cannot create a browser session: {e}"))?;
        let id = v["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no sessionId in {v}"))?
            .to_string();
        driver.session = Some(id);
        driver
            .cmd(
                "POST",
                "/timeouts",
                Some(json!({"implicit": 0, "pageLoad": 30000, "script": 10000})),
            )
            .map_err(|e| e.to_string())?;
        Ok(driver)
    }

    /// A request to chromedriver; returns `value` or the WebDriver error.
    fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, WdError> {
        let body = body.map(|b| b.to_string());
        let headers: &[(&str, &str)] = if body.is_some() {
            &[("Content-Type", "application/json; charset=utf-8")]
        } else {
            &[]
        };
        let r = http(method, &self.addr, path, headers, body.as_deref()).map_err(|e| WdError {
            error: "transport".into(),
            message: e.to_string(),
        })?;
        let v = r.json();
        let value = v["value"].clone();
        if r.status >= 400 || value.get("error").is_some_and(|e| e.is_string()) {
            return Err(WdError {
                error: value["error"].as_str().unwrap_or("http error").to_string(),
                message: value["message"]
                    .as_str()
                    .map(|m| m.lines().next().unwrap_or_default().to_string())
                    .unwrap_or_else(|| format!("status {}: {}", r.status, r.body)),
            });
        }
        Ok(value)
    }

    /// A command in the session (`path` after `/session/{id}`).
    pub fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, WdError> {
        let session = self.session.as_deref().unwrap_or("none");
        self.raw(method, &format!("/session/{session}{path}"), body)
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })))
            .unwrap_or_else(|e| panic!("navigate to {url}: {e}"));
    }

    pub fn current_url(&self) -> String {
        self.cmd("GET", "/url", None)
            .expect("current url")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The page's visible text (for failure messages).
    pub fn page_text(&self) -> String {
        self.try_find("body")
            .and_then(|b| self.text(&b).ok())
            .unwrap_or_default()
    }

    /// Finds an element now (no waiting).
    pub fn try_find(&self, css: &str) -> Option<Element> {
        let v = self
            .cmd(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .ok()?;
        Some(Element {
            id: v[ELEMENT_KEY].as_str()?.to_string(),
            css: css.to_string(),
        })
    }

    /// Finds an element, waiting up to the timeout; panics with the page text if absent.
    #[track_caller]
    pub fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(e) = self.try_find(css) {
                return e;
            }
            if Instant::now() > deadline {
                panic!(
                    "no element `{css}` on {} — page text:\n{}",
                    self.current_url(),
                    self.page_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// All elements matching `css` now.
    pub fn find_all(&self, css: &str) -> Vec<Element> {
        self.cmd(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v[ELEMENT_KEY].as_str())
        .map(|id| Element {
            id: id.to_string(),
            css: css.to_string(),
        })
        .collect()
    }

    /// Elements matching `css` inside `parent`.
    pub fn find_within(&self, parent: &Element, css: &str) -> Vec<Element> {
        self.cmd(
            "POST",
            &format!("/element/{}/elements", parent.id),
            Some(json!({"using": "css selector", "value": css})),
        )
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v[ELEMENT_KEY].as_str())
        .map(|id| Element {
            id: id.to_string(),
            css: format!("{} {css}", parent.css),
        })
        .collect()
    }

    #[track_caller]
    pub fn click(&self, e: &Element) {
        if let Err(err) = self.cmd("POST", &format!("/element/{}/click", e.id), Some(json!({}))) {
            panic!("click `{}`: {err}", e.css);
        }
    }

    #[track_caller]
    pub fn clear(&self, e: &Element) {
        if let Err(err) = self.cmd("POST", &format!("/element/{}/clear", e.id), Some(json!({}))) {
            panic!("clear `{}`: {err}", e.css);
        }
    }

    #[track_caller]
    pub fn send_keys(&self, e: &Element, text: &str) {
        if let Err(err) = self.cmd(
            "POST",
            &format!("/element/{}/value", e.id),
            Some(json!({ "text": text })),
        ) {
            panic!("type into `{}`: {err}", e.css);
        }
    }

    pub fn text(&self, e: &Element) -> Result<String, WdError> {
        self.cmd("GET", &format!("/element/{}/text", e.id), None)
            .map(|v| v.as_str().unwrap_or_default().to_string())
    }

    /// The element's attribute (`None` when absent).
    pub fn attribute(&self, e: &Element, name: &str) -> Option<String> {
        self.cmd("GET", &format!("/element/{}/attribute/{name}", e.id), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
    }

    /// The element's DOM property (`value` of an input, `checked` of a checkbox…).
    pub fn property(&self, e: &Element, name: &str) -> Value {
        self.cmd("GET", &format!("/element/{}/property/{name}", e.id), None)
            .unwrap_or(Value::Null)
    }

    /// The current `value` of an input.
    #[track_caller]
    pub fn value(&self, css: &str) -> String {
        let e = self.find(css);
        self.property(&e, "value")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn is_selected(&self, e: &Element) -> bool {
        self.cmd("GET", &format!("/element/{}/selected", e.id), None)
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    /// The text of an open alert/confirm, if any.
    pub fn alert_text(&self) -> Option<String> {
        self.cmd("GET", "/alert/text", None)
            .ok()
            .map(|v| v.as_str().unwrap_or_default().to_string())
    }

    /// Accepts the open alert/confirm (waiting for it to open); returns its text.
    #[track_caller]
    pub fn accept_alert(&self) -> String {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(text) = self.alert_text() {
                self.cmd("POST", "/alert/accept", Some(json!({})))
                    .unwrap_or_else(|e| panic!("accept alert: {e}"));
                return text;
            }
            if Instant::now() > deadline {
                panic!("no alert opened on {}", self.current_url());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the URL's path and query start with `prefix` (after the origin).
    #[track_caller]
    pub fn wait_for_path(&self, origin: &str, prefix: &str) -> String {
        let deadline = Instant::now() + self.timeout;
        loop {
            let url = self.current_url();
            if url
                .strip_prefix(origin)
                .is_some_and(|rest| rest.starts_with(prefix))
            {
                return url;
            }
            if Instant::now() > deadline {
                panic!(
                    "expected {origin}{prefix}…, still on {url} — page text:\n{}",
                    self.page_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `css` has text containing `needle`; returns the text.
    #[track_caller]
    pub fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + self.timeout;
        loop {
            let text = self
                .try_find(css)
                .and_then(|e| self.text(&e).ok())
                .unwrap_or_default();
            if text.contains(needle) {
                return text;
            }
            if Instant::now() > deadline {
                panic!(
                    "`{css}` does not contain {needle:?} on {}; it says:\n{text}\n— page text:\n{}",
                    self.current_url(),
                    self.page_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Saves a PNG screenshot of the viewport to `path`.
    pub fn screenshot(&self, path: &Path) -> Result<PathBuf, String> {
        let v = self
            .cmd("GET", "/screenshot", None)
            .map_err(|e| e.to_string())?;
        let png = base64_decode(v.as_str().unwrap_or_default()).ok_or("bad base64")?;
        if !png.starts_with(b"\x89PNG") {
            return Err("the screenshot is not a PNG".into());
        }
        std::fs::write(path, png).map_err(|e| format!("write {}: {e}", path.display()))?;
        Ok(path.to_path_buf())
    }

    /// Ends the browser session (also done on drop).
    pub fn quit(&mut self) {
        if self.session.is_some() {
            let _ = self.cmd("DELETE", "", None);
            self.session = None;
        }
    }
}

impl Drop for WebDriver {
    fn drop(&mut self) {
        self.quit();
        // By PID: only the chromedriver this client started.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn base64_round_trip_of_known_values() {
    assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
    assert_eq!(base64_decode("aGVsbG8h").unwrap(), b"hello!");
    assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
    assert_eq!(base64_decode("iVBORw0KGgo=").unwrap(), b"\x89PNG\r\n\x1a\n");
    assert!(base64_decode("a$==").is_none());
}

#[test]
fn chunked_http_bodies_are_decoded() {
    let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    let r = parse_response(raw).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "hello world");
    let raw =
        b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\nWWW-Authenticate: Bearer\r\n\r\n{}";
    let r = parse_response(raw).unwrap();
    assert_eq!((r.status, r.body.as_str()), (401, "{}"));
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
}
