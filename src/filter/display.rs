//! Canonical printing of filters and PATCH paths.
