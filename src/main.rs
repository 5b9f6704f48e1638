//! The `scimd` binary: the server and the admin CLI.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use serde_json::json;

use scimd::config::ServeConfig;
use scimd::store::console::Role;
use scimd::store::tenants::NewTokenRecord;
use scimd::store::Store;
use scimd::token;

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

fn open(url: &str) -> Result<Store, String> {
    Store::open(url, 2)
}

fn run_admin(cli: &Cli, command: &Command) -> Result<serde_json::Value, String> {
    let now = Utc::now();
    let settings = cli.serve.http_settings();
    match command {
        Command::Serve => unreachable!("handled by main"),
        Command::Healthcheck => {
            let addr = cli.serve.listen.clone();
            let ready = healthcheck(&addr).map_err(|e| format!("{addr}: {e}"))?;
            if ready {
                Ok(json!({"ready": true}))
            } else {
                Err(format!("{addr}: not ready"))
            }
        }
        Command::Migrate => {
            open(&cli.database_url)?;
            Ok(json!({"migrated": true}))
        }
        Command::Tenant {
            command: TenantCommand::Create { name },
        } => {
            let store = open(&cli.database_url)?;
            let tenant = store.create_tenant(name, now).map_err(|e| e.to_string())?;
            Ok(json!({
                "tenant_id": tenant.id,
                "name": tenant.name,
                "scim_url": settings.scim_url(&tenant.id),
            }))
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    tenant,
                    name,
                    expires_at,
                },
        } => {
            let store = open(&cli.database_url)?;
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
        Command::Admin {
            command:
                AdminCommand::Create {
                    tenant,
                    email,
                    role,
                },
        } => {
            let store = open(&cli.database_url)?;
            if store
                .get_tenant(tenant)
                .map_err(|e| e.to_string())?
                .is_none()
            {
                return Err(format!("no tenant {tenant}"));
            }
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
            let hash = scimd::password::hash(password.trim_end_matches(['\r', '\n']))
                .map_err(|e| e.detail)?;
            let role = Role::parse(role).ok_or("role must be owner, admin or viewer")?;
            let account = store
                .create_account(tenant, email, &hash, role, now)
                .map_err(|e| e.to_string())?;
            Ok(
                json!({"account_id": account.id, "tenant_id": tenant, "email": account.email, "role": account.role}),
            )
        }
        Command::Db {
            command: DbCommand::Copy { from, to },
        } => {
            let report = scimd::store::copy::copy_database(from, to)?;
            Ok(report.to_json())
        }
        Command::Token {
            command: TokenCommand::Revoke { tenant, token_id },
        } => {
            let store = open(&cli.database_url)?;
            if store
                .revoke_token(tenant, token_id, now)
                .map_err(|e| e.to_string())?
            {
                Ok(json!({"revoked": true, "token_id": token_id}))
            } else {
                Err(format!("tenant {tenant} has no token {token_id}"))
            }
        }
    }
}

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
