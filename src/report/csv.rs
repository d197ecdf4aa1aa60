//! The CSV report: a heading row, then one row per record ([`Tabular::for_each_row`]), quoted as RFC 4180
//! says (CRLF line ends, a field with a comma, quote or line break in double quotes).
//!
//! Names come from other people's files and the report is opened in spreadsheets, which run a
//! cell starting with `=`, `+`, `-` or `@` as a formula (and some a tab or carriage return too):
//! such a cell gets a leading `'`, as OWASP advises, so it shows as text.

use std::io::{self, Write};

use super::Tabular;

pub fn write(out: &mut impl Write, report: &impl Tabular) -> io::Result<()> {
    let mut csv = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out);
    csv.write_record(report.columns().iter().map(|c| neutralise(c).into_owned()))?;
    report.for_each_row(&mut |row| {
        csv.write_record(row.cells.iter().map(|c| neutralise(c).into_owned())).map_err(io::Error::from)
    })?;
    csv.flush()
}

/// `cell`, with a leading `'` when a spreadsheet would read it as a formula.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Row;

    struct Two;
    impl Tabular for Two {
        fn title(&self) -> &'static str {
            "test"
        }
        fn summary(&self) -> serde_json::Value {
            serde_json::json!({})
        }
        fn outcomes(&self) -> Vec<&'static str> {
            vec!["ok"]
        }
        fn columns(&self) -> &'static [&'static str] {
            &["name", "note"]
        }
        fn for_each_row(&self, each: &mut dyn FnMut(Row) -> std::io::Result<()>) -> std::io::Result<()> {
            let row = |a: &str, b: &str| Row {
                outcome: "ok",
                cells: vec![a.to_string(), b.to_string()],
                thumbnail: None,
            };
            [row("=HYPERLINK(\"http://x\")", "a, \"b\"\nc"), row("-1+2", "@SUM(A1)"), row("Anne", "+33 6")]
                .into_iter()
                .try_for_each(each)
        }
    }

    #[test]
    fn csv_quotes_as_rfc_4180_and_neutralises_formulas() {
        let mut out = Vec::new();
        write(&mut out, &Two).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "name,note\r\n\"'=HYPERLINK(\"\"http://x\"\")\",\"a, \"\"b\"\"\nc\"\r\n'-1+2,'@SUM(A1)\r\nAnne,'+33 6\r\n"
        );
    }
}
