//! The admin CLI's database commands (`scimd migrate`, `tenant create`, `token create`,
//! `token revoke`, `admin create`, `db backup`) and the control socket through which the CLI
//! runs them inside a running server.
//!
//! A server on SQLite keeps its file to itself by default (`?exclusive=false` to share it;
//! docs/performance.md, Finding 13), so no other process can open the file while it runs.
//! The server therefore listens on a Unix socket next to the file (`PATH-control`, mode
//! 0600: only the server's user can connect, the same user who can read the file), and the
//! CLI sends its command there when a server answers; otherwise it opens the file itself.
//! One JSON line each way: the command, then `{"ok": …}` or `{"error": "…"}`. Secrets do
//! not cross it inwards: `admin create` hashes the password in the CLI, and a token's
//! secret comes back once, as the CLI prints it.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::HttpSettings;
use crate::store::console::Role;
use crate::store::tenants::NewTokenRecord;
use crate::store::{DatabaseUrl, Store};
use crate::token;

/// A command of the admin CLI that reads or writes the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Command {
    /// Apply pending migrations (a running server has applied them at its start).
    Migrate,
    TenantCreate {
        name: String,
    },
    TokenCreate {
        tenant: String,
        name: String,
        expires_at: Option<DateTime<Utc>>,
    },
    TokenRevoke {
        tenant: String,
        token_id: String,
    },
    /// A console account; the password arrives hashed (argon2id, PHC string).
    AdminCreate {
        tenant: String,
        email: String,
        role: String,
        password_hash: String,
    },
    /// An online copy of the SQLite database into a new file (`VACUUM INTO`); `to` is an
    /// absolute path, which must not exist yet.
    Backup {
        to: String,
    },
}

/// Runs `command` on `store`; the JSON the CLI prints, or the error it reports.
pub fn execute(
    store: &Store,
    settings: &HttpSettings,
    command: &Command,
    now: DateTime<Utc>,
) -> Result<Value, String> {
    match command {
        Command::Migrate => {
            store.migrate()?;
            Ok(json!({"migrated": true}))
        }
        Command::TenantCreate { name } => {
            let tenant = store.create_tenant(name, now).map_err(|e| e.to_string())?;
            Ok(json!({
                "tenant_id": tenant.id,
                "name": tenant.name,
                "scim_url": settings.scim_url(&tenant.id),
            }))
        }
        Command::TokenCreate {
            tenant,
            name,
            expires_at,
        } => {
            let new = token::generate();
            store
                .insert_token(
                    &NewTokenRecord {
                        tenant,
                        id: &new.id,
                        secret_sha256: &new.secret_sha256,
                        name,
                        created_by: Some("cli"),
                        expires_at: *expires_at,
                    },
                    now,
                )
                .map_err(|e| e.to_string())?;
            Ok(json!({"token": new.token, "token_id": new.id, "name": name}))
        }
        Command::TokenRevoke { tenant, token_id } => {
            if store
                .revoke_token(tenant, token_id, now)
                .map_err(|e| e.to_string())?
            {
                Ok(json!({"revoked": true, "token_id": token_id}))
            } else {
                Err(format!("tenant {tenant} has no token {token_id}"))
            }
        }
        Command::AdminCreate {
            tenant,
            email,
            role,
            password_hash,
        } => {
            let role = Role::parse(role).ok_or("role must be owner, admin or viewer")?;
            if store
                .get_tenant(tenant)
                .map_err(|e| e.to_string())?
                .is_none()
            {
                return Err(format!("no tenant {tenant}"));
            }
            let account = store
                .create_account(tenant, email, password_hash, role, now)
                .map_err(|e| e.to_string())?;
            Ok(json!({
                "account_id": account.id,
                "tenant_id": tenant,
                "email": account.email,
                "role": account.role,
            }))
        }
        Command::Backup { to } => {
            if !Path::new(to).is_absolute() {
                return Err(format!("the backup path must be absolute: {to}"));
            }
            store.backup_into(to).map_err(|e| e.to_string())?;
            Ok(json!({"backup": to}))
        }
    }
}

/// Runs `command` for the CLI: through the control socket of a server that serves this
/// SQLite file, else on the database opened here (a SQLite file with shared locking: this
/// process only holds it for the command).
pub fn run(
    database_url: &str,
    settings: &HttpSettings,
    command: &Command,
) -> Result<Value, String> {
    let url = DatabaseUrl::parse(database_url)?;
    if let DatabaseUrl::Sqlite(file) = &url {
        if let Some(answer) = request(&socket_path(&file.path), command)? {
            return answer;
        }
    }
    let url = match url {
        DatabaseUrl::Sqlite(mut file) => {
            file.exclusive = false;
            DatabaseUrl::Sqlite(file)
        }
        postgres => postgres,
    };
    let store = Store::open_database(url, 2)?;
    execute(&store, settings, command, Utc::now())
}

/// Where the server on the SQLite file `db_path` listens for CLI commands: next to the
/// file, named after its canonical path, so that every spelling of it (relative to another
/// directory, through a symbolic link, with `.` or `..` parts) finds the same socket. A file
/// that does not exist yet has no server.
pub fn socket_path(db_path: &str) -> PathBuf {
    let mut name = std::fs::canonicalize(db_path)
        .unwrap_or_else(|_| PathBuf::from(db_path))
        .into_os_string();
    name.push("-control");
    PathBuf::from(name)
}

/// How long either end waits for the other to send the command. The answer has no limit:
/// a backup of a large file takes as long as it takes.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the idle socket thread looks for a connection and for the server stopping
/// (the wait a CLI command may see before it is taken).
const STOP_POLL: Duration = Duration::from_millis(50);
/// The longest command line the server reads.
const MAX_COMMAND_BYTES: u64 = 64 * 1024;

/// Sends `command` to the server listening on `path`. `Ok(None)` when no server listens
/// there (no socket, or a socket left by a server that is gone).
fn request(path: &Path, command: &Command) -> Result<Option<Result<Value, String>>, String> {
    let mut stream = match UnixStream::connect(path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None)
        }
        Err(e) => {
            return Err(format!(
                "cannot reach the server's control socket {}: {e}",
                path.display()
            ))
        }
    };
    let failed =
        |e: std::io::Error| format!("the server's control socket {} failed: {e}", path.display());
    stream
        .set_write_timeout(Some(COMMAND_TIMEOUT))
        .map_err(failed)?;
    let mut line = serde_json::to_vec(command).map_err(|e| e.to_string())?;
    line.push(b'\n');
    stream.write_all(&line).map_err(failed)?;
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .map_err(failed)?;
    let answer: Value = serde_json::from_str(&answer)
        .map_err(|e| format!("the server's control socket answered no JSON: {e}"))?;
    match (answer.get("ok"), answer.get("error")) {
        (Some(ok), _) => Ok(Some(Ok(ok.clone()))),
        (_, Some(Value::String(e))) => Ok(Some(Err(e.clone()))),
        _ => Err(format!("the server's control socket answered {answer}")),
    }
}

/// The server's end: a thread that runs the commands sent to the socket, one at a time.
/// Dropping it stops the thread (releasing its store handle) and removes the socket file.
pub struct ControlSocket {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ControlSocket {
    /// Listens on `path` (mode 0600). A socket file left there by a server that is gone is
    /// replaced; a live one, or a file that is not a socket, is an error.
    pub fn start(store: Store, settings: HttpSettings, path: PathBuf) -> std::io::Result<Self> {
        if let Ok(meta) = std::fs::symlink_metadata(&path) {
            if !meta.file_type().is_socket() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a socket", path.display()),
                ));
            }
            if UnixStream::connect(&path).is_ok() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    format!("another scimd server listens on {}", path.display()),
                ));
            }
            std::fs::remove_file(&path)?;
        }
        let listener = UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        // Polled, so that stopping does not depend on the socket file still being there to
        // wake a blocked `accept` (an operator may have deleted it).
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("scimd-control".into())
            .spawn(move || {
                while !stopped.load(Ordering::Acquire) {
                    match listener.accept() {
                        // The command and its answer have timeouts of their own.
                        Ok((stream, _)) => match stream.set_nonblocking(false) {
                            Ok(()) => serve_one(&store, &settings, stream),
                            Err(e) => tracing::warn!(error = %e, "control socket: accept failed"),
                        },
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(STOP_POLL)
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "control socket: accept failed");
                            std::thread::sleep(STOP_POLL);
                        }
                    }
                }
            })?;
        Ok(ControlSocket {
            path,
            stop,
            thread: Some(thread),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Reads one command, runs it, writes the answer. A client that sends nothing for 10 s is
/// dropped, so it cannot hold the socket.
fn serve_one(store: &Store, settings: &HttpSettings, stream: UnixStream) {
    let _ = stream.set_read_timeout(Some(COMMAND_TIMEOUT));
    let mut line = String::new();
    let read = BufReader::new((&stream).take(MAX_COMMAND_BYTES)).read_line(&mut line);
    let answer = match read {
        Ok(0) => return,
        Ok(_) => match serde_json::from_str::<Command>(&line) {
            Ok(command) => {
                let result = execute(store, settings, &command, Utc::now());
                tracing::info!(
                    command = command_name(&command),
                    ok = result.is_ok(),
                    "control socket command"
                );
                match result {
                    Ok(value) => json!({ "ok": value }),
                    Err(e) => json!({ "error": e }),
                }
            }
            Err(e) => json!({ "error": format!("not a command: {e}") }),
        },
        Err(e) => json!({ "error": format!("cannot read the command: {e}") }),
    };
    let mut out = answer.to_string();
    out.push('\n');
    let _ = (&stream).write_all(out.as_bytes());
}

/// The command's name for the log (never its fields: a password hash, a token id).
fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Migrate => "migrate",
        Command::TenantCreate { .. } => "tenant-create",
        Command::TokenCreate { .. } => "token-create",
        Command::TokenRevoke { .. } => "token-revoke",
        Command::AdminCreate { .. } => "admin-create",
        Command::Backup { .. } => "backup",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(public_url: &str) -> HttpSettings {
        HttpSettings {
            public_url: public_url.into(),
            self_url: "http://127.0.0.1:1".into(),
            max_body_bytes: 1024,
            limits: crate::http::rate_limit::Limits {
                rate: 1.0,
                burst: 1.0,
                max_concurrent: 1,
            },
        }
    }

    /// A server's store on a new SQLite file (kept to this process) and its control socket
    /// (public URL `https://server.example`). Callers bind every field, so that none (the
    /// directory) is dropped early.
    struct Served {
        socket: ControlSocket,
        store: Store,
        url: String,
        dir: tempfile::TempDir,
    }

    fn served_file() -> Served {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("scimd.db").display());
        let store = Store::open(&url, 2).unwrap();
        let socket = ControlSocket::start(
            store.clone(),
            settings("https://server.example"),
            socket_path(db_path(&url)),
        )
        .unwrap();
        Served {
            socket,
            store,
            url,
            dir,
        }
    }

    fn db_path(url: &str) -> &str {
        url.strip_prefix("sqlite://").unwrap()
    }

    /// With a server's socket on the file, the CLI's commands run in that server: its
    /// public URL is in the answer, its store has the tenant, the token works there and its
    /// revocation too; errors come back as errors.
    #[test]
    fn the_cli_runs_its_commands_in_the_server_that_holds_the_file() {
        let Served {
            socket,
            store,
            url,
            dir: _dir,
        } = served_file();
        let mode = std::fs::metadata(socket.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        let cli = settings("https://cli.example");

        let tenant = run(
            &url,
            &cli,
            &Command::TenantCreate {
                name: "Contoso".into(),
            },
        )
        .unwrap();
        let id = tenant["tenant_id"].as_str().unwrap().to_string();
        assert_eq!(
            tenant["scim_url"],
            format!("https://server.example/scim/v2/{id}")
        );
        assert_eq!(store.get_tenant(&id).unwrap().unwrap().name, "Contoso");

        let token = run(
            &url,
            &cli,
            &Command::TokenCreate {
                tenant: id.clone(),
                name: "entra".into(),
                expires_at: None,
            },
        )
        .unwrap();
        let secret = token["token"].as_str().unwrap();
        let parsed = token::parse(secret).expect("a scimd token");
        let record = store.find_token(parsed.id).unwrap().expect("stored");
        assert_eq!(record.tenant_id, id);
        assert_ne!(record.secret_sha256, secret, "only a digest is stored");

        let token_id = token["token_id"].as_str().unwrap().to_string();
        let revoke = Command::TokenRevoke {
            tenant: id.clone(),
            token_id: token_id.clone(),
        };
        assert_eq!(run(&url, &cli, &revoke).unwrap()["revoked"], true);
        assert!(store
            .find_token(&token_id)
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some());
        let other = Command::TokenRevoke {
            tenant: id.clone(),
            token_id: "nope".into(),
        };
        let err = run(&url, &cli, &other).unwrap_err();
        assert!(err.contains("has no token nope"), "{err}");

        let hash = crate::password::hash("a long enough password").unwrap();
        let admin = run(
            &url,
            &cli,
            &Command::AdminCreate {
                tenant: id.clone(),
                email: "owner@contoso.example".into(),
                role: "owner".into(),
                password_hash: hash,
            },
        )
        .unwrap();
        assert_eq!(admin["role"], "owner");
        let account = store
            .find_account(&id, "owner@contoso.example")
            .unwrap()
            .expect("account");
        assert!(crate::password::verify(
            "a long enough password",
            &account.password_hash
        ));
        let unknown = Command::AdminCreate {
            tenant: "no-such-tenant".into(),
            email: "x@example.com".into(),
            role: "admin".into(),
            password_hash: "x".into(),
        };
        let err = run(&url, &cli, &unknown).unwrap_err();
        assert!(err.contains("no tenant no-such-tenant"), "{err}");
        assert_eq!(
            run(&url, &cli, &Command::Migrate).unwrap()["migrated"],
            true
        );
    }

    /// The CLI finds the server's socket under another spelling of the file's path (a `.`
    /// and a `..` part, a symbolic link to its directory).
    #[test]
    fn another_spelling_of_the_path_finds_the_same_socket() {
        let Served {
            socket,
            store: _store,
            url: _,
            dir,
        } = served_file();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path(), &link).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let base = dir.path().display();
        for other in [
            format!("sqlite://{base}/./scimd.db"),
            format!("sqlite://{base}/sub/../scimd.db"),
            format!("sqlite://{}/scimd.db", link.display()),
        ] {
            assert_eq!(socket_path(db_path(&other)), socket.path(), "{other}");
            let t = run(
                &other,
                &settings("https://cli.example"),
                &Command::TenantCreate { name: "S".into() },
            )
            .unwrap();
            assert!(
                t["scim_url"]
                    .as_str()
                    .unwrap()
                    .starts_with("https://server.example/"),
                "{other}: {t}"
            );
        }
    }

    /// A backup through the server is a database of its own with everything in it; an
    /// existing file or a relative path is refused and left alone.
    #[test]
    fn a_backup_through_the_server_is_a_whole_database() {
        let Served {
            socket: _socket,
            store,
            url,
            dir,
        } = served_file();
        let cli = settings("https://cli.example");
        let tenant = store.create_tenant("Fabrikam", Utc::now()).unwrap();
        let to = dir.path().join("backup.db").display().to_string();
        let done = run(&url, &cli, &Command::Backup { to: to.clone() }).unwrap();
        assert_eq!(done["backup"], to);
        let copy = Store::open(&format!("sqlite://{to}"), 1).unwrap();
        assert_eq!(
            copy.get_tenant(&tenant.id).unwrap().unwrap().name,
            "Fabrikam"
        );
        drop(copy);

        let again = run(&url, &cli, &Command::Backup { to: to.clone() }).unwrap_err();
        assert!(again.contains("already exists"), "{again}");
        let relative = Command::Backup {
            to: "backup.db".into(),
        };
        let err = run(&url, &cli, &relative).unwrap_err();
        assert!(err.contains("must be absolute"), "{err}");
    }

    /// Without a server, the CLI opens the file itself; a socket file left by a server that
    /// is gone is ignored by the CLI and replaced by the next server; a live socket and a
    /// file that is not a socket are refused; stopping the socket removes its file.
    #[test]
    fn stale_live_and_foreign_socket_files() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("scimd.db").display());
        drop(Store::open(&url, 1).unwrap());
        let path = socket_path(db_path(&url));
        let cli = settings("https://cli.example");

        // A socket nobody listens on any more (as a SIGKILLed server leaves it).
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let direct = run(&url, &cli, &Command::TenantCreate { name: "A".into() }).unwrap();
        assert!(direct["scim_url"]
            .as_str()
            .unwrap()
            .starts_with("https://cli.example/"));

        let store = Store::open(&url, 2).unwrap();
        let socket = ControlSocket::start(
            store.clone(),
            settings("https://server.example"),
            path.clone(),
        )
        .unwrap();
        let live = ControlSocket::start(store.clone(), settings("x"), path.clone());
        assert_eq!(live.err().unwrap().kind(), std::io::ErrorKind::AddrInUse);
        drop(socket);
        assert!(!path.exists(), "the socket file outlived the socket");

        // Stopping does not need the socket file: one deleted meanwhile stops all the same.
        let socket = ControlSocket::start(store.clone(), settings("x"), path.clone()).unwrap();
        std::fs::remove_file(&path).unwrap();
        let (done, stopped) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            drop(socket);
            let _ = done.send(());
        });
        assert!(
            stopped.recv_timeout(Duration::from_secs(5)).is_ok(),
            "the socket did not stop without its file"
        );
        assert!(
            !store.is_shared(),
            "the socket's thread kept its store handle"
        );

        std::fs::write(&path, "not a socket").unwrap();
        let foreign = ControlSocket::start(store.clone(), settings("x"), path.clone());
        assert_eq!(
            foreign.err().unwrap().kind(),
            std::io::ErrorKind::AlreadyExists
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a socket");
    }

    /// What the socket does with a line that is no command, or too long: an error answer,
    /// nothing run; the socket goes on serving.
    #[test]
    fn a_malformed_command_gets_an_error_and_changes_nothing() {
        let Served {
            socket,
            store,
            url,
            dir: _dir,
        } = served_file();
        let long = format!(
            "{{\"command\":\"tenant-create\",\"name\":\"{}\"}}\n",
            "x".repeat(70_000)
        );
        for line in [
            "{\"command\":\"tenant-delete\"}\n".to_string(),
            "not json\n".to_string(),
            long,
        ] {
            let mut stream = UnixStream::connect(socket.path()).unwrap();
            stream.write_all(line.as_bytes()).unwrap();
            let mut answer = String::new();
            BufReader::new(stream).read_line(&mut answer).unwrap();
            let answer: Value = serde_json::from_str(&answer).unwrap();
            assert!(answer["error"].is_string(), "{answer}");
        }
        assert!(store.list_tenants().unwrap().is_empty());
        let ok = run(
            &url,
            &settings("x"),
            &Command::TenantCreate { name: "B".into() },
        );
        assert!(ok.is_ok(), "{ok:?}");
    }
}
