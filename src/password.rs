//! Console passwords: argon2id (PHC strings). Never on the SCIM request path.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

use crate::error::{ScimError, ScimResult};

/// Shortest accepted console password.
pub const MIN_LENGTH: usize = 10;

/// Hashes a new password (argon2id, random salt).
pub fn hash(password: &str) -> ScimResult<String> {
    if password.chars().count() < MIN_LENGTH {
        return Err(ScimError::invalid_value(format!(
            "the password needs at least {MIN_LENGTH} characters"
        )));
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| ScimError::internal(format!("password hashing failed: {e}")))
}

/// True if `password` matches the stored PHC string.
pub fn verify(password: &str, stored: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), stored)
        .is_ok()
}

/// A dummy verification, so that an unknown account costs as much as a wrong password.
pub fn verify_dummy(password: &str) {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2NpbWRkdW1teXNhbHQ$HZ0r2lGSH5Zy6bRMvbPKHPzKd1K2WfKbDcx9Zv0yjDk";
    let _ = verify(password, DUMMY);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_verifies() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("wrong horse battery", &h));
        assert!(!verify("x", "not a hash"));
        assert!(hash("short").is_err());
        verify_dummy("anything");
    }
}
