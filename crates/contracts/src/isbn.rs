//! ISBNs: an edition's number, as readers and files write it (ISBN-10 or ISBN-13, with or
//! without hyphens and spaces, Goodreads' `="…"` quoting), checked by its check digit and kept
//! in one form, ISBN-13.

use std::fmt;

use crate::Rejection;

/// A valid ISBN, as its 13 digits (an ISBN-10 is prefixed with 978 and given the ISBN-13 check
/// digit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Isbn([u8; 13]);

impl Isbn {
    /// Reads an ISBN-10 or ISBN-13 as written: hyphens, spaces and a surrounding `="…"` are
    /// left out, an ISBN-10's check digit may be `X`. `INVALID_ARGUMENT` naming `field` when it
    /// is not one, or its check digit is wrong.
    pub fn parse(field: &'static str, written: &str) -> Result<Self, Rejection> {
        let bare = written.trim().trim_start_matches('=').trim_matches('"');
        let symbols: Vec<char> = bare.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
        let invalid = |why: &str| Rejection::invalid(field, format!("{field} is not an ISBN: {why}"));
        match symbols.len() {
            10 => {
                let mut digits = [0u8; 10];
                for (i, symbol) in symbols.iter().enumerate() {
                    digits[i] = match (symbol.to_digit(10), symbol) {
                        (Some(digit), _) => digit as u8,
                        (None, 'X' | 'x') if i == 9 => 10,
                        _ => return Err(invalid("an ISBN-10 has 9 digits and a digit or X")),
                    };
                }
                let sum: u32 = digits.iter().enumerate().map(|(i, &d)| (10 - i as u32) * u32::from(d)).sum();
                if !sum.is_multiple_of(11) {
                    return Err(invalid("its check digit is wrong"));
                }
                let mut isbn = [9, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
                isbn[3..12].copy_from_slice(&digits[..9]);
                isbn[12] = check_digit_13(&isbn);
                Ok(Isbn(isbn))
            }
            13 => {
                let mut isbn = [0u8; 13];
                for (i, symbol) in symbols.iter().enumerate() {
                    isbn[i] = symbol.to_digit(10).ok_or_else(|| invalid("an ISBN-13 has 13 digits"))? as u8;
                }
                if !matches!(isbn[..3], [9, 7, 8] | [9, 7, 9]) {
                    return Err(invalid("an ISBN-13 starts with 978 or 979"));
                }
                if isbn[12] != check_digit_13(&isbn) {
                    return Err(invalid("its check digit is wrong"));
                }
                Ok(Isbn(isbn))
            }
            _ => Err(invalid("an ISBN has 10 or 13 digits")),
        }
    }

    /// The ISBN-10 of the same edition, for those of the 978 prefix.
    pub fn isbn10(&self) -> Option<String> {
        if self.0[..3] != [9, 7, 8] {
            return None;
        }
        let digits = &self.0[3..12];
        let sum: u32 = digits.iter().enumerate().map(|(i, &d)| (10 - i as u32) * u32::from(d)).sum();
        let check = match (11 - sum % 11) % 11 {
            10 => 'X',
            digit => char::from(b'0' + digit as u8),
        };
        Some(digits.iter().map(|&d| char::from(b'0' + d)).chain([check]).collect())
    }
}

/// ISBN-13's check digit: weights 1 and 3 in turn over the first 12 digits.
fn check_digit_13(isbn: &[u8; 13]) -> u8 {
    let sum: u32 = isbn[..12].iter().enumerate().map(|(i, &d)| u32::from(d) * if i % 2 == 0 { 1 } else { 3 }).sum();
    ((10 - sum % 10) % 10) as u8
}

/// The 13 digits, no hyphens: the stored form.
impl fmt::Display for Isbn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|d| write!(f, "{d}"))
    }
}

/// Written as its 13 digits.
impl serde::Serialize for Isbn {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;

    fn parse(written: &str) -> Result<String, Rejection> {
        Isbn::parse("isbn", written).map(|isbn| isbn.to_string())
    }

    #[test]
    fn isbn_10_and_13_as_written_become_one_isbn_13() {
        for written in
            ["9780140449136", "978-0-14-044913-6", "0140449132", "0-14-044913-2", "=\"0140449132\"", " 978 0140449136 "]
        {
            assert_eq!(parse(written).ok().as_deref(), Some("9780140449136"), "{written}");
        }
        assert_eq!(parse("080442957X").ok().as_deref(), Some("9780804429573"));
        assert_eq!(parse("080442957x").ok().as_deref(), Some("9780804429573"));
        assert_eq!(parse("979-10-90636-07-1").ok().as_deref(), Some("9791090636071"));
    }

    #[test]
    fn the_isbn_10_of_a_978_isbn_is_given_back() {
        let isbn = |written| Isbn::parse("isbn", written).ok().and_then(|isbn| isbn.isbn10());
        assert_eq!(isbn("9780140449136").as_deref(), Some("0140449132"));
        assert_eq!(isbn("9780804429573").as_deref(), Some("080442957X"));
        assert_eq!(isbn("9791090636071"), None);
    }

    #[test]
    fn a_wrong_check_digit_length_or_symbol_is_invalid_naming_the_field() {
        for written in [
            "9780140449137",
            "0140449133",
            "014044913",
            "97801404491361",
            "X140449132",
            "01404491X2",
            "9770140449136",
            "",
            "isbn",
            "٩٧٨٠١٤٠٤٤٩١٣٦",
        ] {
            let refused = parse(written).expect_err(written);
            assert_eq!((refused.code, refused.field), (Code::InvalidArgument, Some("isbn")), "{written}");
        }
    }
}
