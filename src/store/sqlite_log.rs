//! SQLite's own error log (`SQLITE_CONFIG_LOG`) routed into `tracing`.
//!
//! SQLite reports there what its error codes leave out: which statement aborted and with
//! which extended code, the failing system call of an I/O error with its errno, and the
//! frames recovered from a write-ahead log an earlier process left (a crash, say).
//! Without it, a write failing with "database or disk is full" says nothing of which
//! write or why. The messages carry statement texts with their `?` placeholders, never
//! bound values.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::Once;

use libsqlite3_sys as ffi;

/// Installs the log callback, once per process (`Store::open` calls it; SQLite takes this
/// one setting at any time, also after its first connection opened).
pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let callback: unsafe extern "C" fn(*mut c_void, c_int, *const c_char) = log;
        // SAFETY: `sqlite3_config` with SQLITE_CONFIG_LOG takes a function pointer of this
        // signature and a context pointer (unused here); the callback is thread-safe.
        let rc = unsafe {
            ffi::sqlite3_config(
                ffi::SQLITE_CONFIG_LOG,
                callback,
                std::ptr::null_mut::<c_void>(),
            )
        };
        if rc != ffi::SQLITE_OK {
            tracing::warn!(rc, "SQLite's error log could not be installed");
        }
    });
}

/// How loud a message of SQLite's log is: what is expected in normal running (a UNIQUE
/// violation is a 409 answered to the client; a statement re-prepared after a schema
/// change) is debug, notices (such as the frames recovered from a log left behind) are info, the
/// rest warn.
fn level(code: c_int) -> tracing::Level {
    match code & 0xff {
        ffi::SQLITE_CONSTRAINT | ffi::SQLITE_SCHEMA => tracing::Level::DEBUG,
        ffi::SQLITE_NOTICE => tracing::Level::INFO,
        _ => tracing::Level::WARN,
    }
}

unsafe extern "C" fn log(_: *mut c_void, code: c_int, message: *const c_char) {
    if message.is_null() {
        return;
    }
    // SAFETY: SQLite passes a NUL-terminated string valid for the call.
    let message = unsafe { CStr::from_ptr(message) }.to_string_lossy();
    // Never unwind into C.
    let _ = std::panic::catch_unwind(|| match level(code) {
        tracing::Level::DEBUG => tracing::debug!(target: "sqlite", code, "{message}"),
        tracing::Level::INFO => tracing::info!(target: "sqlite", code, "{message}"),
        _ => tracing::warn!(target: "sqlite", code, "{message}"),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_conditions_are_quiet_and_failures_are_warnings() {
        // Extended codes are judged by their primary code.
        assert_eq!(level(ffi::SQLITE_CONSTRAINT_UNIQUE), tracing::Level::DEBUG);
        assert_eq!(level(ffi::SQLITE_SCHEMA), tracing::Level::DEBUG);
        assert_eq!(level(ffi::SQLITE_NOTICE_RECOVER_WAL), tracing::Level::INFO);
        assert_eq!(level(ffi::SQLITE_FULL), tracing::Level::WARN);
        assert_eq!(level(ffi::SQLITE_IOERR_WRITE), tracing::Level::WARN);
        assert_eq!(level(ffi::SQLITE_WARNING_AUTOINDEX), tracing::Level::WARN);
    }
}
