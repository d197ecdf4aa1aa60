//! calcard values → text: one value, a whole entry for the report, components, trimming.

use calcard::vcard::{VCardEntry, VCardValue};

/// Text of one value; `None` for binary data.
pub(super) fn value_text(v: &VCardValue) -> Option<String> {
    Some(match v {
        VCardValue::Text(s) => s.clone(),
        VCardValue::Component(parts) => parts.join(","),
        VCardValue::Integer(i) => i.to_string(),
        VCardValue::Float(f) => f.to_string(),
        VCardValue::Boolean(b) => b.to_string(),
        VCardValue::PartialDateTime(p) => format_partial(p),
        VCardValue::Binary(_) => return None,
        other => other.as_text()?.to_string(),
    })
}

fn format_partial(p: &calcard::common::PartialDateTime) -> String {
    let mut s = String::new();
    match p.year {
        Some(y) => s.push_str(&format!("{y:04}")),
        None => s.push_str("--"),
    }
    if let Some(m) = p.month {
        if p.year.is_some() {
            s.push('-');
        }
        s.push_str(&format!("{m:02}"));
    }
    if let Some(d) = p.day {
        s.push_str(&format!("-{d:02}"));
    }
    if let (Some(h), Some(mi)) = (p.hour, p.minute) {
        s.push_str(&format!("T{h:02}:{mi:02}"));
        if let Some(sec) = p.second {
            s.push_str(&format!(":{sec:02}"));
        }
    }
    s
}

/// All values of an entry as report text (structured values joined by `;`).
pub(super) fn entry_text(e: &VCardEntry) -> String {
    let parts: Vec<String> = e
        .values
        .iter()
        .map(|v| match v {
            VCardValue::Binary(d) => format!(
                "<{} bytes{}>",
                d.data.len(),
                d.content_type.as_deref().map(|t| format!(" {t}")).unwrap_or_default()
            ),
            other => value_text(other).unwrap_or_default(),
        })
        .collect();
    parts.join(";")
}

/// `s` trimmed, reusing its allocation when it needs no trimming.
pub(super) fn owned_nonempty(s: String) -> Option<String> {
    // ASCII blanks first (fast, the common case), then any Unicode white space.
    let t = s.trim_ascii();
    if t.len() == s.len()
        && !t.is_empty()
        && !t.ends_with(char::is_whitespace)
        && !t.starts_with(char::is_whitespace)
    {
        return Some(s);
    }
    let t = t.trim();
    if t.is_empty() {
        None
    } else if t.len() == s.len() {
        Some(s)
    } else {
        Some(t.to_string())
    }
}

pub(super) fn nonempty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Name as the report shows it: `N`, `X-ABLabel`, …
pub(super) fn field_name(e: &VCardEntry) -> String {
    e.name.as_str().to_string()
}

/// Component `i` of a structured value (ADR, ORG), taken out of the entry and trimmed; a comma
/// list is joined by `, `.
pub(super) fn component(e: &mut VCardEntry, i: usize) -> Option<String> {
    component_joined(e, i, ", ")
}

/// Name components: comma lists joined by a space (`Q.,Public` → `Q. Public`).
pub(super) fn name_component(e: &mut VCardEntry, i: usize) -> Option<String> {
    component_joined(e, i, " ")
}

fn component_joined(e: &mut VCardEntry, i: usize, separator: &str) -> Option<String> {
    match e.values.get_mut(i)? {
        VCardValue::Text(t) => owned_nonempty(std::mem::take(t)),
        VCardValue::Component(parts) => {
            let parts: Vec<&str> = parts.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
            nonempty(&parts.join(separator))
        }
        v => nonempty(&value_text(v)?),
    }
}
