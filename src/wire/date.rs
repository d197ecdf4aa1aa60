//! The API's date: `birthday` is written `YYYY-MM-DD` and must be a real calendar date
//! (proleptic Gregorian). The sandbox checks what it receives with [`parse`]; the client writes
//! with [`format`] (through `model::PartialDate::to_iso`): one rule for both sides.

/// Days in `month` of `year`; `None` for a month outside 1–12.
pub fn days_in_month(year: u16, month: u8) -> Option<u8> {
    Some(match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => return None,
    })
}

pub fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// `YYYY-MM-DD` when year, month and day form a calendar date.
pub fn format(year: u16, month: u8, day: u8) -> Option<String> {
    let valid = year <= 9999 && days_in_month(year, month).is_some_and(|n| (1..=n).contains(&day));
    valid.then(|| format!("{year:04}-{month:02}-{day:02}"))
}

/// Reads a date exactly as the API writes it: `YYYY-MM-DD`, a calendar date, nothing else.
pub fn parse(s: &str) -> Option<(u16, u8, u8)> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) || !digits(5..7) || !digits(8..10) {
        return None;
    }
    let (year, month, day) = (s[..4].parse().ok()?, s[5..7].parse().ok()?, s[8..].parse().ok()?);
    format(year, month, day).map(|_| (year, month, day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_dates() {
        assert_eq!(parse("1951-01-01"), Some((1951, 1, 1)));
        assert_eq!(parse("2000-02-29"), Some((2000, 2, 29)));
        for bad in
            ["1900-02-29", "1951-1-1", "1951-02-30", "01/01/1951", "1951-01-01T00:00", "--0415", "abcd-ef-gh"]
        {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(format(1981, 2, 29), None);
        assert_eq!(format(1984, 2, 29).as_deref(), Some("1984-02-29"));
        assert_eq!(format(1984, 13, 1), None);
        assert_eq!(format(1984, 1, 0), None);
    }
}
