//! Fuzzes the normalisation of SCIM request bodies (POST/PUT of Users and Groups): it must
//! never panic, and what it accepts must be valid, normalise to itself again, and give a
//! search document without panicking.
//!
//! Run with `cargo +nightly fuzz run body fuzz/corpus/body` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scimd::resource::{normalize, search_document_text, validate};
use scimd::schema::Registry;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let reg = Registry::get();
    for rt in [&reg.user, &reg.group] {
        if let Ok(n) = normalize(body.clone(), rt) {
            assert!(validate(&n.doc, rt).is_ok(), "invalid result {:?}", n.doc);
            let again = normalize(n.doc.clone(), rt).expect("a normalised document normalises");
            assert_eq!(again.doc, n.doc);
            let _ = search_document_text(&n.doc, rt);
        }
    }
});
