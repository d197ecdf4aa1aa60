//! The ways a server may echo a secret back, as functions of it: raw, percent-encoded in every
//! case and extent, `+`-decoded, XML-escaped, and stacked. Shared by the hostile test server
//! (`tests/common/hostile.rs`, which echoes tokens this way) and the redaction unit tests
//! (`src/client/redact.rs` includes this file by path).
#![allow(dead_code)]

/// How a secret is written back.
pub type Write = fn(&str) -> String;

/// Every echo: (what it is, how it is written).
pub const ECHOES: &[(&str, Write)] = &[
    ("raw", |t| t.to_string()),
    ("form-encoded", form),
    ("form-encoded, lower-case hex", |t| lower_hex(&form(t))),
    ("percent-encoded, %20 for space", |t| form(t).replace('+', "%20")),
    ("only | encoded", |t| t.replace('|', "%7C")),
    ("only | encoded, lower-case", |t| t.replace('|', "%7c")),
    ("+ decoded as a space", |t| t.replace('+', " ")),
    ("XML decimal references", |t| t.chars().map(|c| format!("&#{};", c as u32)).collect()),
    ("XML hex references, mixed case", |t| t.replace('|', "&#x7c;").replace('/', "&#X2F;")),
    ("percent-encoded twice", |t| form(t).replace('%', "%25")),
    ("XML-escaped percent escapes", |t| form(t).replace('%', "&#37;")),
    ("XML-escaped twice", |t| t.replace('|', "&amp;#124;")),
    ("mixed-case hex, some raw", |t| form(t).replacen("%2B", "+", 1).replace("%2F", "%2f")),
    ("upper-cased", |t| t.to_ascii_uppercase()),
];

fn form(t: &str) -> String {
    url::form_urlencoded::byte_serialize(t.as_bytes()).collect()
}

fn lower_hex(encoded: &str) -> String {
    let mut out = String::new();
    let mut chars = encoded.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            out.extend(chars.by_ref().take(2).map(|h| h.to_ascii_lowercase()));
        }
    }
    out
}
