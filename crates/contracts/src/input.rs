//! The one check of every text and date a command carries, at the edge of every decider: what
//! it accepts can be stored and projected. Postgres refuses a NUL in text and dates outside its
//! range, and an event the projections cannot apply would stall them for good, since the log
//! keeps it; so such values are refused before anything is appended.

use chrono::NaiveDate;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use crate::Rejection;

/// What a text is, which decides the characters it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    /// A name other readers see in lists (a display name, a shelf name): one line, normalized
    /// to NFC, without bidi controls or zero-width characters that would make two names look
    /// alike or reorder what surrounds them.
    Name,
    /// One line kept as written: a title, a book's format, an author's name.
    Line,
    /// Free text stored exactly as written, white space included (a review, a comment, a note,
    /// a bio): line breaks and tabs allowed; nothing but white space counts as empty.
    Long,
}

pub const MIN_HANDLE: usize = 3;
pub const MAX_HANDLE: usize = 30;

/// Handles are what other readers type to find someone: 3 to 30 ASCII letters, digits and `_`.
/// A text that is not one names no reader, so a read or a sign-in by it is answered without
/// asking the store (which would refuse a NUL with an internal error).
pub fn handle(handle: &str) -> Result<(), Rejection> {
    let length = handle.chars().count();
    if !(MIN_HANDLE..=MAX_HANDLE).contains(&length) {
        return Err(Rejection::invalid("handle", format!("a handle has {MIN_HANDLE} to {MAX_HANDLE} characters")));
    }
    if !handle.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Rejection::invalid("handle", "a handle has only letters, digits and _"));
    }
    Ok(())
}

/// The text to store for `value` (a line trimmed, a name also normalized, long text as
/// written), if it has `min` to `max` characters of the kind `kind` allows; otherwise an
/// `INVALID_ARGUMENT` naming `field` and what is wrong.
pub fn text(field: &'static str, value: &str, kind: Text, min: usize, max: usize) -> Result<String, Rejection> {
    let value = match kind {
        Text::Name => value.trim().nfc().collect::<String>(),
        Text::Line => value.trim().to_owned(),
        Text::Long => value.to_owned(),
    };
    if let Some(c) = value.chars().find(|&c| !allowed(c, kind)) {
        return Err(Rejection::invalid(field, format!("{field} must not contain {}", describe(c))));
    }
    let length = value.chars().count();
    if min > 0 && value.trim().is_empty() {
        return Err(Rejection::invalid(field, format!("{field} must not be empty")));
    }
    if length < min || length > max {
        let message = match min {
            0 => format!("{field} must be at most {max} characters"),
            _ => format!("{field} must have {min} to {max} characters"),
        };
        return Err(Rejection::invalid(field, message));
    }
    Ok(value)
}

/// The key two names match by, whatever their case or Unicode form: trimmed, NFC, lower case.
pub fn name_key(name: &str) -> String {
    name.trim().nfc().collect::<String>().to_lowercase()
}

fn allowed(c: char, kind: Text) -> bool {
    if is_noncharacter(c) {
        return false;
    }
    if c.is_control() {
        return kind == Text::Long && matches!(c, '\n' | '\r' | '\t');
    }
    kind != Text::Name || !(is_bidi_control(c) || is_zero_width(c))
}

/// U+FDD0..U+FDEF and the last two code points of every plane: never meant for interchange.
fn is_noncharacter(c: char) -> bool {
    matches!(c, '\u{FDD0}'..='\u{FDEF}') || (c as u32) & 0xFFFE == 0xFFFE
}

/// Marks, embeddings, overrides and isolates that change the direction of what follows.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}')
}

fn describe(c: char) -> String {
    let kind = if c.is_control() {
        "a control character"
    } else if is_noncharacter(c) {
        "a noncharacter"
    } else if is_bidi_control(c) {
        "a bidi control"
    } else {
        "a zero-width character"
    };
    format!("{kind} (U+{:04X})", c as u32)
}

/// The first day a reading log, a review or a reading date may name.
pub const EARLIEST_READING_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(date) => date,
    None => panic!("1900-01-01 is a date"),
};

/// The earliest first publication a book may have (the oldest written works are a little
/// younger); Postgres holds dates back to 4713 BC.
pub const EARLIEST_PUBLICATION: NaiveDate = match NaiveDate::from_ymd_opt(-3000, 1, 1) {
    Some(date) => date,
    None => panic!("3001 BC is a date"),
};

/// `date` if it is from `earliest` to `today`; otherwise an `INVALID_ARGUMENT` naming `field`.
pub fn date(
    field: &'static str,
    date: NaiveDate,
    earliest: NaiveDate,
    today: NaiveDate,
) -> Result<NaiveDate, Rejection> {
    if date > today {
        return Err(Rejection::invalid(field, format!("{field} {date} is in the future")));
    }
    if date < earliest {
        return Err(Rejection::invalid(field, format!("{field} {date} is before {earliest}")));
    }
    Ok(date)
}

/// The first characters a spreadsheet reads a formula from: an export puts a `'` before a
/// cell that starts with one (OWASP's CSV injection), and an import takes it off again.
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// What a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, a tab or a carriage return
/// first: OWASP's CSV injection) gets a leading `'`, which spreadsheets show as text and the
/// importer takes off again.
pub fn inert(cell: &mut String) {
    if cell.starts_with(FORMULA_STARTS) {
        cell.insert(0, '\'');
    }
}

/// An id sent as text (a UUID): `INVALID_ARGUMENT` on `field` when it is not one.
pub fn id(field: &'static str, value: &str) -> Result<Uuid, Rejection> {
    Uuid::parse_str(value).map_err(|_| Rejection::invalid(field, format!("{field} is not a valid id")))
}

/// A wire date (`YYYY-MM-DD`; empty for none).
pub fn parse_date(field: &'static str, value: &str) -> Result<Option<NaiveDate>, Rejection> {
    match value {
        "" => Ok(None),
        value => value
            .parse()
            .map(Some)
            .map_err(|_| Rejection::invalid(field, format!("{field} must be a date (YYYY-MM-DD)"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;

    fn refused(value: &str, kind: Text) -> bool {
        matches!(text("f", value, kind, 0, 100), Err(Rejection { code: Code::InvalidArgument, field: Some("f"), .. }))
    }

    #[test]
    fn what_postgres_cannot_store_or_no_one_can_see_is_refused() {
        for kind in [Text::Name, Text::Line, Text::Long] {
            for hostile in ["a\u{0}b", "a\u{7}b", "a\u{1b}[31mb", "a\u{85}b", "a\u{FFFE}b", "a\u{FDD0}b", "a\u{10FFFF}"]
            {
                assert!(refused(hostile, kind), "{hostile:?} as {kind:?}");
            }
        }
        for line in [Text::Name, Text::Line] {
            assert!(refused("two\nlines", line));
        }
        assert_eq!(
            text("f", "two\nlines\twith a tab", Text::Long, 0, 100).ok().as_deref(),
            Some("two\nlines\twith a tab")
        );
    }

    #[test]
    fn names_are_normalized_and_refuse_what_disguises_them() {
        let decomposed = "Jose\u{301}";
        assert_eq!(text("f", decomposed, Text::Name, 1, 10).ok().as_deref(), Some("Jos\u{e9}"));
        for disguise in ["admin\u{202E}nimda", "a\u{200B}b", "\u{2066}x\u{2069}", "\u{FEFF}ana\u{200D}"] {
            assert!(refused(disguise, Text::Name), "{disguise:?}");
            assert!(!refused(disguise, Text::Long), "free text keeps {disguise:?} as written");
        }
        assert_eq!(text("f", "  Ana  ", Text::Name, 1, 10).ok().as_deref(), Some("Ana"));
        assert_eq!(name_key(" JOSE\u{301} "), name_key("jos\u{e9}"));
    }

    #[test]
    fn lengths_count_characters_after_trimming() {
        assert!(text("f", "   ", Text::Line, 1, 10).is_err());
        assert!(text("f", " \n ", Text::Long, 1, 10).is_err());
        assert_eq!(text("f", " as written\n", Text::Long, 1, 20).ok().as_deref(), Some(" as written\n"));
        assert!(text("f", "ééééé", Text::Line, 1, 5).is_ok());
        assert!(text("f", "éééééé", Text::Line, 1, 5).is_err());
    }

    #[test]
    fn dates_stay_within_what_chrono_and_postgres_hold() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap_or_default();
        let field = |value: &str| parse_date("on", value).ok().flatten();
        let ancient = field("-5000-01-01").unwrap_or_default();
        assert!(date("on", ancient, EARLIEST_PUBLICATION, today).is_err());
        assert!(date("on", ancient, EARLIEST_READING_DATE, today).is_err());
        let before_1900 = field("1899-12-31").unwrap_or_default();
        assert!(date("on", before_1900, EARLIEST_READING_DATE, today).is_err());
        assert!(date("on", before_1900, EARLIEST_PUBLICATION, today).is_ok());
        assert!(date("on", today.succ_opt().unwrap_or_default(), EARLIEST_READING_DATE, today).is_err());
        assert!(parse_date("on", "2024-02-30").is_err());
        assert_eq!(parse_date("on", ""), Ok(None));
    }
}
