//! Per-request SCIM work without HTTP or a database, on an Entra-style user:
//! - `patch/*`: PatchOp parsing and application (what a PATCH does between load and store);
//! - `normalize/*`: normalisation of a POST body (what a POST/PUT does before the store);
//! - `represent/*`: `to_scim` of a stored user and its JSON serialisation (every answer);
//! - `json/*`: parsing the request body, for scale against the above.
//!
//! Register in Cargo.toml with `[[bench]] name = "scim" harness = false`;
//! run with `cargo bench --bench scim`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use serde_json::{json, Value};

use scimd::patch::{apply_patch, parse_patch_request};
use scimd::representation::to_scim;
use scimd::resource::normalize;
use scimd::schema::Registry;
use scimd::store::resources::StoredResource;

const BASE_URL: &str = "http://127.0.0.1:8080/scim/v2/0b6f1c0e2c9a4d1f";

/// A POST body as Microsoft Entra ID sends it (string booleans, enterprise extension,
/// manager as a bare id, Entra's attribute-name casing).
fn entra_user_body() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7933c4be4d17",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee@contoso.com",
        "active": "True",
        "displayName": "Test User",
        "title": "Engineer",
        "preferredLanguage": "en-US",
        "emails": [
            {"primary": true, "type": "work", "value": "Test_User_00aa00aa@contoso.com"},
            {"primary": false, "type": "other", "value": "test.user@example.com"}
        ],
        "name": {"formatted": "Test User", "familyName": "User", "givenName": "Test"},
        "addresses": [{
            "type": "work", "streetAddress": "1 Main St", "locality": "Redmond",
            "region": "WA", "postalCode": "98052", "country": "US", "primary": true
        }],
        "phoneNumbers": [
            {"type": "work", "value": "+1 425 555 0100"},
            {"type": "mobile", "value": "+1 425 555 0101"}
        ],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "department": "Tour Operations",
            "costCenter": "4130",
            "organization": "Contoso",
            "manager": "26118915-6090-4610-87a4-ded20e3fcd31"
        }
    })
}

/// An Entra attribute-change PATCH: several replaces, a value-path filter, an extension
/// attribute, a string boolean and an add.
fn entra_patch_body() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "displayName", "value": "Test User (renamed)"},
            {"op": "Replace", "path": "name.givenName", "value": "Tess"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "tess.user@contoso.com"},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Finance"},
            {"op": "Add", "path": "title", "value": "Senior Engineer"},
            {"op": "Replace", "path": "active", "value": "False"}
        ]
    })
}

/// The single replace the load benchmark sends.
fn one_replace_body() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Patched 1-1"}]
    })
}

fn bench(c: &mut Criterion) {
    let users = &Registry::get().user;
    let body = entra_user_body();
    let doc = normalize(body.clone(), users)
        .expect("entra user normalizes")
        .doc;
    let stored = StoredResource {
        id: "6a0b4b3e-6a3f-4ab5-9d3c-2f1f5d1d9a11".into(),
        created: "2026-11-22T03:44:55.123Z".into(),
        last_modified: "2026-11-22T03:44:55.123Z".into(),
        version: 3,
        doc: doc.clone(),
    };
    let patch = entra_patch_body();
    let replace = one_replace_body();
    let ops = parse_patch_request(&patch).expect("patch parses");
    let replace_ops = parse_patch_request(&replace).expect("patch parses");
    assert!(apply_patch(&doc, &ops, users).is_ok());
    let body_text = body.to_string();

    c.bench_function("json/parse_entra_user_body", |b| {
        b.iter(|| serde_json::from_str::<Value>(black_box(&body_text)).unwrap())
    });
    c.bench_function("normalize/entra_user", |b| {
        b.iter(|| normalize(black_box(body.clone()), users).unwrap())
    });
    c.bench_function("patch/parse_entra_6_ops", |b| {
        b.iter(|| parse_patch_request(black_box(&patch)).unwrap())
    });
    c.bench_function("patch/apply_entra_6_ops", |b| {
        b.iter(|| apply_patch(black_box(&doc), black_box(&ops), users).unwrap())
    });
    c.bench_function("patch/parse_and_apply_1_replace", |b| {
        b.iter(|| {
            let ops = parse_patch_request(black_box(&replace)).unwrap();
            apply_patch(black_box(&doc), &ops, users).unwrap()
        })
    });
    c.bench_function("patch/apply_1_replace", |b| {
        b.iter(|| apply_patch(black_box(&doc), black_box(&replace_ops), users).unwrap())
    });
    // to_scim consumes the stored resource (its document is moved into the answer): the
    // copy made for each iteration is set up outside the measurement.
    c.bench_function("represent/to_scim_entra_user", |b| {
        b.iter_batched(
            || stored.clone(),
            |s| to_scim(users, s, BASE_URL, None, Some(&[])),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("represent/to_scim_and_serialize", |b| {
        b.iter_batched(
            || stored.clone(),
            |s| to_scim(users, s, BASE_URL, None, Some(&[])).to_string(),
            BatchSize::SmallInput,
        )
    });
    // A page of 100: what GET /Users?count=100 renders and serialises.
    let page: Vec<StoredResource> = (0..100)
        .map(|i| StoredResource {
            id: format!("6a0b4b3e-6a3f-4ab5-9d3c-2f1f5d1d{i:04}"),
            ..stored.clone()
        })
        .collect();
    c.bench_function("represent/page_of_100_to_scim_and_serialize", |b| {
        b.iter_batched(
            || page.clone(),
            |page| {
                let resources = page
                    .into_iter()
                    .map(|s| to_scim(users, s, BASE_URL, None, Some(&[])))
                    .collect();
                scimd::representation::list_response(100_000, 1, resources).to_string()
            },
            BatchSize::SmallInput,
        )
    });
    // The store's side of a write: the document and its search copy as text.
    c.bench_function("store/doc_and_search_doc_to_string", |b| {
        b.iter(|| {
            let d = black_box(&doc);
            (
                serde_json::to_string(d).unwrap(),
                scimd::resource::search_document_text(d, users),
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
