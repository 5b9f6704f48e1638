//! Parser throughput: a typical Entra filter, a 20-term filter, and a PATCH path.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use scimd::filter::{parse_filter, parse_patch_path};

const ENTRA: &str = r#"userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee""#;
const PATCH_PATH: &str = r#"emails[type eq "work" and value co "@example.com"].value"#;

/// 20 attribute comparisons (4 × 5) mixing `and`, `or`, `not`, parentheses and a value path.
fn twenty_terms() -> String {
    let mut parts = Vec::new();
    for i in 0..4 {
        parts.push(format!(
            r#"(userName eq "user{i}@example.com" and not (active eq false)) or (emails[type eq "work" and value co "@corp{i}.example"] and meta.lastModified gt "2024-01-0{}T00:00:00Z")"#,
            i + 1
        ));
    }
    parts.join(" or ")
}

fn bench(c: &mut Criterion) {
    let twenty = twenty_terms();
    assert!(parse_filter(ENTRA).is_ok());
    assert!(parse_filter(&twenty).is_ok());
    assert!(parse_patch_path(PATCH_PATH).is_ok());
    c.bench_function("parse_filter/entra_userName_eq", |b| {
        b.iter(|| parse_filter(black_box(ENTRA)))
    });
    c.bench_function("parse_filter/20_terms", |b| {
        b.iter(|| parse_filter(black_box(&twenty)))
    });
    c.bench_function("parse_patch_path/value_path_sub", |b| {
        b.iter(|| parse_patch_path(black_box(PATCH_PATH)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
