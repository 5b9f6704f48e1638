//! Fuzzes the PATCH applier: any JSON body, applied to a realistic User and Group, must
//! never panic; a successful result must be a valid resource, and applying the same
//! operations to a copy must give the same result (no hidden state).
//!
//! Run with `cargo +nightly fuzz run patch fuzz/corpus/patch` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scimd::patch::{apply_patch, parse_patch_request};
use scimd::resource::validate;
use scimd::schema::Registry;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(ops) = parse_patch_request(&body) else {
        return;
    };
    let reg = Registry::get();
    let user = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "active": true,
        "emails": [{"type": "work", "value": "bjensen@example.com", "primary": true},
                   {"type": "home", "value": "babs@example.org"}],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": "Tour Operations", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        }
    });
    let group = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Tour Guides"
    });
    for (doc, rt) in [(&user, &reg.user), (&group, &reg.group)] {
        let first = apply_patch(doc, &ops, rt);
        if let Ok(outcome) = &first {
            assert!(validate(&outcome.doc, rt).is_ok(), "invalid result {:?}", outcome.doc);
        }
        assert_eq!(first, apply_patch(doc, &ops, rt));
    }
});
