//! Fuzzes the filter and PATCH-path parsers: they must never panic, and every successful
//! parse must print to its canonical form and parse back to the same AST.
//!
//! Run with `cargo +nightly fuzz run filter` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scimd::filter::{parse_filter, parse_patch_path};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(filter) = parse_filter(input) {
        let printed = filter.to_string();
        // A bare word near the length limit prints with two more characters (its quotes).
        if printed.len() > scimd::filter::MAX_FILTER_LEN {
            return;
        }
        assert_eq!(
            parse_filter(&printed).as_ref(),
            Ok(&filter),
            "filter {input:?} printed as {printed:?}"
        );
    }
    if let Ok(path) = parse_patch_path(input) {
        let printed = path.to_string();
        assert_eq!(
            parse_patch_path(&printed).as_ref(),
            Ok(&path),
            "path {input:?} printed as {printed:?}"
        );
    }
});
