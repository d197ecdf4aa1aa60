//! The HTML report: one self-contained page (inline style and script, thumbnails as `data:` URIs,
//! a Content-Security-Policy that lets it load nothing else), with the run's summary, a filter
//! per outcome and a table of every record ([`Tabular::for_each_row`]).
//!
//! Every text comes from someone else's file (a name may be `<script>…`): all of it goes through
//! [`escape`]. Opened with `#selftest`, the page checks itself and writes what it found into
//! `<pre id="selftest">` as JSON (the rows each filter shows, the thumbnails that loaded, any
//! script error), which a headless browser's `--dump-dom` shows to the tests.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use super::{Row, Tabular};

/// Writes the page, the rows as they come ([`Tabular::for_each_row`]; a first pass counts
/// them for the filters): a report of a million records is never one string.
pub fn write(out: &mut impl Write, report: &impl Tabular) -> io::Result<()> {
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let (mut total, mut photos) = (0, false);
    report.for_each_row(&mut |row| {
        *counts.entry(row.outcome).or_default() += 1;
        total += 1;
        photos |= row.thumbnail.is_some();
        Ok(())
    })?;
    let title = format!("orange-contacts {}", report.title());
    let mut html = String::with_capacity(4096);
    html.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n",
    );
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(html, "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>", escape(&title));
    let _ = writeln!(html, "<h1>{}</h1>", escape(&title));
    summary_table(&mut html, &report.summary());
    filters(&mut html, &report.outcomes(), &counts, total);
    let columns = report.columns();
    table_head(&mut html, columns, photos);
    out.write_all(html.as_bytes())?;
    report.for_each_row(&mut |row| {
        html.clear();
        table_row(&mut html, columns, &row, photos);
        out.write_all(html.as_bytes())
    })?;
    html.clear();
    html.push_str("</tbody>\n</table>\n");
    html.push_str("<pre id=\"selftest\" hidden></pre>\n");
    for script in [ERRORS_SCRIPT, FILTER_SCRIPT, SELFTEST_SCRIPT] {
        let _ = writeln!(html, "<script>\n{script}\n</script>");
    }
    html.push_str("</body>\n</html>\n");
    out.write_all(html.as_bytes())
}

/// `text` made safe as HTML text or as a quoted attribute value.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; margin: 0 0 .6em; }
table { border-collapse: collapse; }
.summary th { text-align: left; font-weight: normal; color: #555; padding: 1px 1.5em 1px 0; }
.summary td { padding: 1px 0; }
nav { margin: 1.2em 0 .6em; }
nav button { font: inherit; margin: 0 .3em .3em 0; padding: .2em .7em; border: 1px solid #aaa;
  border-radius: 1em; background: #f6f6f6; cursor: pointer; }
nav button[aria-pressed=true] { background: #333; color: #fff; border-color: #333; }
#records th, #records td { border-bottom: 1px solid #ddd; padding: .3em .6em; text-align: left;
  vertical-align: top; white-space: pre-line; }
#records th { background: #f0f0f0; position: sticky; top: 0; }
#records img { width: 48px; height: 48px; object-fit: cover; border-radius: 4px; }
.outcome { font-weight: 600; }
tr.created .outcome { color: #17702c; } tr.merged .outcome { color: #1d4fa0; }
tr.invalid .outcome, tr.failed .outcome, tr.error .outcome, tr.refused .outcome { color: #b3261e; }
tr.invalid, tr.failed, tr.error, tr.refused { background: #fff4f3; }
";

/// Collects script errors before anything else runs, so even a broken filter script is seen.
const ERRORS_SCRIPT: &str = "window.reportErrors = [];
window.addEventListener('error', function (e) { window.reportErrors.push(String(e.message)); });";

/// The filters: a button per outcome (and `all`) shows only the rows of that outcome.
const FILTER_SCRIPT: &str = "window.showOutcome = function (outcome) {
  document.querySelectorAll('#records tbody tr').forEach(function (row) {
    row.hidden = outcome !== '' && row.dataset.outcome !== outcome;
  });
  document.querySelectorAll('nav button').forEach(function (button) {
    button.setAttribute('aria-pressed', String(button.dataset.filter === outcome));
  });
};
document.querySelectorAll('nav button').forEach(function (button) {
  button.addEventListener('click', function () { window.showOutcome(button.dataset.filter); });
});";

/// `#selftest`: clicks every filter and writes what each one shows.
const SELFTEST_SCRIPT: &str = "window.addEventListener('load', function () {
  if (location.hash !== '#selftest') return;
  var result = { errors: window.reportErrors, rows: 0, filters: {}, images: 0, images_loaded: 0 };
  try {
    var rows = Array.prototype.slice.call(document.querySelectorAll('#records tbody tr'));
    result.rows = rows.length;
    document.querySelectorAll('nav button').forEach(function (button) {
      button.click();
      var shown = rows.filter(function (r) { return getComputedStyle(r).display !== 'none'; });
      result.filters[button.dataset.filter] = shown.map(function (r) { return r.dataset.outcome; });
    });
    document.querySelectorAll('#records img').forEach(function (img) {
      result.images += 1;
      if (img.complete && img.naturalWidth > 0) result.images_loaded += 1;
    });
  } catch (e) {
    result.errors.push(String(e));
  }
  var out = document.getElementById('selftest');
  out.textContent = JSON.stringify(result);
  out.hidden = false;
});";

fn summary_table(html: &mut String, summary: &serde_json::Value) {
    html.push_str("<table class=\"summary\" id=\"summary\">\n");
    if let Some(fields) = summary.as_object() {
        for (key, value) in fields {
            let _ = writeln!(
                html,
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(&key.replace('_', " ")),
                escape(&summary_value(value))
            );
        }
    }
    html.push_str("</table>\n");
}

/// A summary value as one line: `created 3, merged 1` for an object.
fn summary_value(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if !n.is_u64() && !n.is_i64() => format!("{f:.2}"),
            _ => n.to_string(),
        },
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Array(items) => items.iter().map(summary_value).collect::<Vec<_>>().join(", "),
        Value::Object(fields) => {
            fields.iter().map(|(k, v)| format!("{k} {}", summary_value(v))).collect::<Vec<_>>().join(", ")
        }
    }
}

fn filters(html: &mut String, outcomes: &[&'static str], counts: &BTreeMap<&str, usize>, total: usize) {
    html.push_str("<nav id=\"filters\" aria-label=\"Show the records of one outcome\">\n");
    let _ = writeln!(
        html,
        "<button type=\"button\" data-filter=\"\" aria-pressed=\"true\">all ({total})</button>"
    );
    for outcome in outcomes {
        let _ = writeln!(
            html,
            "<button type=\"button\" data-filter=\"{0}\" aria-pressed=\"false\">{0} ({1})</button>",
            escape(outcome),
            counts.get(outcome).copied().unwrap_or(0)
        );
    }
    html.push_str("</nav>\n");
}

fn table_head(html: &mut String, columns: &[&str], photos: bool) {
    html.push_str("<table id=\"records\">\n<thead><tr>");
    if photos {
        html.push_str("<th>photo</th>");
    }
    for column in columns {
        let _ = write!(html, "<th>{}</th>", escape(column));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
}

fn table_row(html: &mut String, columns: &[&str], row: &Row, photos: bool) {
    let outcome = escape(row.outcome);
    let _ = write!(html, "<tr class=\"{outcome}\" data-outcome=\"{outcome}\">");
    if photos {
        match &row.thumbnail {
            Some(uri) => {
                let _ = write!(html, "<td><img src=\"{}\" alt=\"photo\"></td>", escape(uri));
            }
            None => html.push_str("<td></td>"),
        }
    }
    for (column, cell) in columns.iter().zip(&row.cells) {
        let class = if *column == "outcome" || *column == "status" { " class=\"outcome\"" } else { "" };
        let _ = write!(html, "<td{class}>{}</td>", escape(cell));
    }
    html.push_str("</tr>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Hostile;
    impl Tabular for Hostile {
        fn title(&self) -> &'static str {
            "test report"
        }
        fn summary(&self) -> serde_json::Value {
            serde_json::json!({"records": 1, "note": "<b>x</b>"})
        }
        fn outcomes(&self) -> Vec<&'static str> {
            vec!["created"]
        }
        fn columns(&self) -> &'static [&'static str] {
            &["name", "outcome"]
        }
        fn for_each_row(&self, each: &mut dyn FnMut(Row) -> io::Result<()>) -> io::Result<()> {
            each(Row {
                outcome: "created",
                cells: vec!["<script>alert('x')</script> & \"Bob\"".into(), "created".into()],
                thumbnail: Some("data:image/jpeg;base64,AAA=\"><script>".into()),
            })
        }
    }

    #[test]
    fn html_escapes_every_text_from_the_records() {
        let mut page = Vec::new();
        write(&mut page, &Hostile).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Bob&quot;"));
        assert!(page.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert!(page.contains("src=\"data:image/jpeg;base64,AAA=&quot;&gt;&lt;script&gt;\""));
        // The page's own three scripts, and no other.
        assert_eq!(page.matches("<script>").count(), 3);
    }
}
