//! The `scimd` binary: the server and the admin CLI.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use serde_json::json;

use scimd::config::ServeConfig;
use scimd::control;

#[derive(Parser)]
#[command(name = "scimd", version, about = "SCIM 2.0 provisioning target")]
struct Cli {
    /// Database URL: sqlite://PATH (created on start) or postgres://…
    #[arg(
        long,
        env = "SCIMD_DATABASE_URL",
        default_value = "sqlite://scimd.db",
        global = true
    )]
    database_url: String,
    /// Print results as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    serve: ServeConfig,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Exit 0 if the server on --listen answers /readyz (for container probes).
    Healthcheck,
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Manage secret tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage console accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Copy every tenant, token, account, configuration, resource and log from one
    /// database into a new, empty one (SQLite to PostgreSQL or back); ids, versions and
    /// timestamps are kept, so clients keep their SCIM links and tokens.
    Copy {
        /// Source database URL (sqlite://PATH or postgres://…).
        #[arg(long)]
        from: String,
        /// Target database URL; migrated, and refused unless it holds no tenant.
        #[arg(long)]
        to: String,
    },
    /// Copy the SQLite database, as of one moment, into a new file while it is in use
    /// (through the running server when it holds the file).
    Backup {
        /// The new file (must not exist).
        #[arg(long)]
        to: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a console account; the password is read from stdin.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["owner", "admin", "viewer"])]
        role: String,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant; prints its id and SCIM URL.
    Create {
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Generate a secret token (printed once, stored only as a digest).
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// Optional expiry, RFC 3339.
        #[arg(long)]
        expires_at: Option<DateTime<Utc>>,
    },
    /// Revoke a token at once.
    Revoke {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        token_id: String,
    },
}

/// Logs go to stderr in batches ([`scimd::log_writer`]): a request only copies its line
/// into memory, and one thread writes the lines out every 50 ms and when the returned guard
/// is dropped at exit; lines are never dropped.
fn init_tracing() -> scimd::log_writer::FlushGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SCIMD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = std::env::var("SCIMD_LOG_FORMAT").is_ok_and(|v| v == "json");
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (writer, guard) = scimd::log_writer::BatchedWriter::new(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    if json {
        builder.json().init();
    } else if ansi {
        builder.init();
    } else {
        // The same text without colours, written by hand (`scimd::log_format`).
        builder.event_format(scimd::log_format::LineFormat).init();
    }
    guard
}

fn run_admin(cli: &Cli, command: &Command) -> Result<serde_json::Value, String> {
    let settings = cli.serve.http_settings();
    let command = match command {
        Command::Serve => unreachable!("handled by main"),
        Command::Healthcheck => {
            let addr = cli.serve.listen.clone();
            let ready = healthcheck(&addr).map_err(|e| format!("{addr}: {e}"))?;
            return if ready {
                Ok(json!({"ready": true}))
            } else {
                Err(format!("{addr}: not ready"))
            };
        }
        Command::Db {
            command: DbCommand::Copy { from, to },
        } => {
            let report = scimd::store::copy::copy_database(from, to)?;
            return Ok(report.to_json());
        }
        Command::Migrate => control::Command::Migrate,
        Command::Tenant {
            command: TenantCommand::Create { name },
        } => control::Command::TenantCreate { name: name.clone() },
        Command::Token {
            command:
                TokenCommand::Create {
                    tenant,
                    name,
                    expires_at,
                },
        } => control::Command::TokenCreate {
            tenant: tenant.clone(),
            name: name.clone(),
            expires_at: *expires_at,
        },
        Command::Token {
            command: TokenCommand::Revoke { tenant, token_id },
        } => control::Command::TokenRevoke {
            tenant: tenant.clone(),
            token_id: token_id.clone(),
        },
        Command::Admin {
            command:
                AdminCommand::Create {
                    tenant,
                    email,
                    role,
                },
        } => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
            let password_hash = scimd::password::hash(password.trim_end_matches(['\r', '\n']))
                .map_err(|e| e.detail)?;
            control::Command::AdminCreate {
                tenant: tenant.clone(),
                email: email.clone(),
                role: role.clone(),
                password_hash,
            }
        }
        Command::Db {
            command: DbCommand::Backup { to },
        } => {
            let to = std::path::absolute(to).map_err(|e| format!("{}: {e}", to.display()))?;
            control::Command::Backup {
                to: to.to_string_lossy().into_owned(),
            }
        }
    };
    control::run(&cli.database_url, &settings, &command)
}

/// mimalloc, not glibc's malloc. The HTTP workers allocate and free per request and the
/// SQLite writer thread frees what they allocated; once the resource cache had filled the heap
/// with long-lived rows, glibc's `malloc` searched fragmented bins (`_int_malloc` 3.7x its cost
/// per request with the cache off) and a PATCH load on 100 000 users ran at 0.91x the same
/// binary with the cache off. With mimalloc: PATCH 1.19x there (and 1.07x the cache off),
/// 1.08x on 10 000 users, reads unchanged (docs/performance.md, Finding 23).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc reads its options when it initialises, before `main` (Rust's runtime allocates
/// first), so they are set from `.preinit_array`, which runs before any initialiser:
/// - `arena_eager_commit` off: on Linux mimalloc commits each arena whole and then only
///   resets the pages it frees, which the kernel takes back lazily and counts in RSS
///   meanwhile (peak RSS on 100 000 users 146-166 MiB, against 92-97 MiB with it off);
/// - `purge_delay` 0: memory freed goes back to the kernel at once, not a second later
///   (peak RSS of the PostgreSQL scale run 115.5 MiB, against 92.1 MiB; glibc: 51.8).
///
/// The target is 150 MiB (docs/performance.md, Finding 23).
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".preinit_array"]
static CONFIGURE_ALLOCATOR: extern "C" fn() = configure_allocator;

#[cfg(target_os = "linux")]
extern "C" fn configure_allocator() {
    // SAFETY: sets two of mimalloc's option values (stores into its static table); it
    // allocates nothing and runs before any other thread exists.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}

/// `mi_option_arena_eager_commit` and `mi_option_purge_delay` in mimalloc v3's `mimalloc.h`
/// (libmimalloc-sys names only v2's options). The test `the_allocator_is_configured` reads
/// the values back by name, should an upgrade renumber the options.
#[cfg(target_os = "linux")]
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
#[cfg(target_os = "linux")]
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Dropped before an error is printed, so that the log lines before it come first.
    let log_writer = init_tracing();
    match &cli.command {
        None | Some(Command::Serve) => {
            let result = actix_web::rt::System::new().block_on(scimd::server::serve(
                cli.serve.clone(),
                cli.database_url.clone(),
            ));
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    drop(log_writer);
                    eprintln!("scimd: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(command) => match run_admin(&cli, command) {
            Ok(value) => {
                if cli.json {
                    println!("{value}");
                } else if let Some(obj) = value.as_object() {
                    for (k, v) in obj {
                        match v.as_str() {
                            Some(s) => println!("{k}: {s}"),
                            None => println!("{k}: {v}"),
                        }
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                drop(log_writer);
                eprintln!("scimd: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// `GET /readyz` on the local listener.
fn healthcheck(addr: &str) -> std::io::Result<bool> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    write!(
        stream,
        "GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response.starts_with("HTTP/1.1 200"))
}
