//! The files readers bring: Goodreads' library export (the older 31 columns and the newer 24
//! ending "Private Notes, Read Count, Owned Copies"; columns are found by name, so either
//! reads) and StoryGraph's. Read row by row from any `Read`, so a file of any length is never
//! held whole; a row that cannot be read is an error naming why, and the rest go on.

use std::io::Read;

use chrono::NaiveDate;
use readstream_contracts::{input, ContentWarning, Isbn, Mood, Pace, SeriesPosition, Survey};

pub use readstream_readmodel::imports::ImportFormat as Format;

/// The columns a file of `format` must have.
fn required(format: Format) -> &'static [&'static str] {
    match format {
        Format::Goodreads => &["Title", "Author", "ISBN", "ISBN13", "My Rating", "Exclusive Shelf", "Date Added"],
        Format::StoryGraph => &["Title", "Authors", "ISBN/UID", "Read Status", "Star Rating", "Date Added"],
    }
}

/// Where a book stood on the reader's built-in shelves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    ToRead,
    CurrentlyReading,
    Paused,
    Read,
    DidNotFinish,
}

impl Status {
    /// Goodreads' exclusive shelves and StoryGraph's read statuses; other names are custom shelves.
    fn parse(name: &str) -> Option<Status> {
        match name.trim().to_lowercase().replace([' ', '_'], "-").as_str() {
            "to-read" | "want-to-read" => Some(Status::ToRead),
            "currently-reading" => Some(Status::CurrentlyReading),
            "paused" | "on-hold" => Some(Status::Paused),
            "read" => Some(Status::Read),
            "did-not-finish" | "dnf" | "abandoned" => Some(Status::DidNotFinish),
            _ => None,
        }
    }
}

/// The longest cell a row may hold, in bytes (a review is at most 20,000 characters).
pub const MAX_CELL_BYTES: usize = 100_000;
/// The most times one row may say a book was read: each read is a command.
pub const MAX_READS: u32 = 200;
/// The most authors and shelves one row may name (the catalog's and the reading log's own bounds).
const MAX_AUTHORS: usize = 50;
const MAX_SHELVES: usize = 100;

/// One book of an imported library, as the file says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LibraryRow {
    /// Counted from 1 after the header line.
    pub row: u32,
    pub title: String,
    pub subtitle: String,
    /// The series the title names ("The Way of Kings (The Stormlight Archive, #1)"), with the
    /// book's number in it when the title gives one.
    pub series: Option<SeriesPlace>,
    /// The first is the main author.
    pub authors: Vec<String>,
    /// ISBN-13 first, then ISBN-10, as the file has them.
    pub isbns: Vec<Isbn>,
    pub status: Option<Status>,
    /// The reader's own shelves (Goodreads' Bookshelves, StoryGraph's Tags), not the status.
    pub shelves: Vec<String>,
    /// Quarter stars, 4 to 20 (Goodreads' whole stars are multiples of 4).
    pub quarter_stars: Option<u8>,
    pub date_added: Option<NaiveDate>,
    /// When the last read began (StoryGraph's last range), if the file says.
    pub started_on: Option<NaiveDate>,
    /// When it was last finished.
    pub date_read: Option<NaiveDate>,
    pub read_count: u32,
    pub review: Option<String>,
    pub spoiler: bool,
    pub owned: bool,
    pub pages: Option<i32>,
    pub format: String,
    pub year_published: Option<i32>,
    pub original_year: Option<i32>,
    /// StoryGraph's Moods, Pace and Content Warnings, as the survey's words (those it does not
    /// know left out).
    pub survey: Survey,
}

/// A book's place in a series, as a file's title says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesPlace {
    pub name: String,
    pub number: Option<SeriesPosition>,
}

/// A row that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: u32,
    pub reason: String,
}

/// The file is not this format's export at all.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("this is not a {format} export: it has no {column} column")]
    MissingColumn { format: &'static str, column: &'static str },
    #[error("the file is not CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// The rows of a file, one at a time.
pub struct Rows<R: Read> {
    format: Format,
    reader: csv::Reader<R>,
    header: Vec<String>,
    record: csv::StringRecord,
    row: u32,
}

impl<R: Read> Rows<R> {
    pub fn new(format: Format, input: R) -> Result<Self, FileError> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
        let header: Vec<String> =
            reader.headers()?.iter().map(|h| h.trim_start_matches('\u{feff}').trim().to_owned()).collect();
        if let Some(column) = required(format).iter().find(|c| !header.iter().any(|h| h == *c)) {
            return Err(FileError::MissingColumn { format: format.as_str(), column });
        }
        Ok(Rows { format, reader, header, record: csv::StringRecord::new(), row: 0 })
    }

    /// A cell, trimmed, without the `'` an export puts before what a spreadsheet would run as a
    /// formula (`input::FORMULA_STARTS`).
    fn field(&self, name: &str) -> &str {
        let cell = self.header.iter().position(|h| h == name).and_then(|i| self.record.get(i)).unwrap_or_default();
        match cell.strip_prefix('\'') {
            Some(formula) if formula.starts_with(input::FORMULA_STARTS) => formula.trim(),
            _ => cell.trim(),
        }
    }

    fn parse(&self) -> Result<LibraryRow, String> {
        if self.record.len() != self.header.len() {
            return Err(format!("{} fields where the header has {}", self.record.len(), self.header.len()));
        }
        // Bounded before anything reads them: a cell becomes a command, and a command crosses NATS.
        for (column, cell) in self.header.iter().zip(self.record.iter()) {
            if cell.len() > MAX_CELL_BYTES {
                return Err(format!("{column} holds {} bytes, more than {MAX_CELL_BYTES}", cell.len()));
            }
            if cell.contains('\0') {
                return Err(format!("{column} holds a NUL character"));
            }
        }
        match self.format {
            Format::Goodreads => self.goodreads(),
            Format::StoryGraph => self.storygraph(),
        }
    }

    fn goodreads(&self) -> Result<LibraryRow, String> {
        let (title, subtitle, series) = split_title(self.field("Title"));
        let mut authors = vec![self.field("Author").to_owned()];
        authors.extend(list(self.field("Additional Authors")));
        let isbns = [self.field("ISBN13"), self.field("ISBN")]
            .into_iter()
            .map(unquote_isbn)
            .filter(|isbn| !isbn.is_empty())
            .map(|isbn| Isbn::parse("isbn", isbn).map_err(|_| format!("ISBN {isbn} is not a valid ISBN")))
            .collect::<Result<Vec<_>, _>>()?;
        let quarter_stars = match self.field("My Rating") {
            "" | "0" => None,
            stars => match stars.parse::<u8>() {
                Ok(stars @ 1..=5) => Some(stars * 4),
                _ => return Err(format!("My Rating {stars} is not 0 to 5")),
            },
        };
        let exclusive = self.field("Exclusive Shelf");
        let status = Status::parse(exclusive);
        let mut shelves: Vec<String> = list(self.field("Bookshelves"))
            .filter(|shelf| !shelf.eq_ignore_ascii_case(exclusive) && Status::parse(shelf).is_none())
            .collect();
        if status.is_none() && !exclusive.is_empty() {
            // A custom exclusive shelf readstream has no status for: kept as a shelf.
            shelves.insert(0, exclusive.to_owned());
        }
        let owned = self.field("Owned Copies").parse::<u32>().unwrap_or(0) > 0;
        let review = Some(html_text(self.field("My Review"))).filter(|review| !review.is_empty());
        Ok(LibraryRow {
            row: self.row,
            title,
            subtitle,
            series,
            authors,
            isbns,
            status,
            shelves,
            quarter_stars,
            date_added: date("Date Added", self.field("Date Added"))?,
            started_on: None,
            date_read: date("Date Read", self.field("Date Read"))?,
            read_count: read_count(self.field("Read Count"))?,
            review,
            spoiler: self.field("Spoiler").eq_ignore_ascii_case("true"),
            owned,
            pages: self.field("Number of Pages").parse().ok().filter(|pages| *pages > 0),
            format: self.field("Binding").to_owned(),
            year_published: self.field("Year Published").parse().ok(),
            original_year: self.field("Original Publication Year").parse().ok(),
            survey: Survey::default(),
        })
    }

    fn storygraph(&self) -> Result<LibraryRow, String> {
        let (title, subtitle, series) = split_title(self.field("Title"));
        let authors: Vec<String> = list(self.field("Authors")).collect();
        // ISBN/UID holds an ISBN, or StoryGraph's own id for a book without one.
        let isbns = Isbn::parse("isbn", self.field("ISBN/UID")).ok().into_iter().collect();
        let quarter_stars = match self.field("Star Rating") {
            "" => None,
            stars => match stars.parse::<f64>() {
                Ok(stars) if (1.0..=5.0).contains(&stars) && (stars * 4.0).fract() == 0.0 => Some((stars * 4.0) as u8),
                _ => return Err(format!("Star Rating {stars} is not 1 to 5 in quarter stars")),
            },
        };
        let status_name = self.field("Read Status");
        let status = Status::parse(status_name);
        if status.is_none() && !status_name.is_empty() {
            return Err(format!("Read Status {status_name} is not one StoryGraph writes"));
        }
        // "2023/05/01-2023/05/14, 2024/01/02-": the last range is the latest read.
        let ranges: Vec<&str> = self.field("Dates Read").split(',').map(str::trim).filter(|r| !r.is_empty()).collect();
        let (started_on, finished_on) = match ranges.last() {
            Some(range) => {
                let (start, end) = range.split_once('-').unwrap_or((range, ""));
                (date("Dates Read", start)?, date("Dates Read", end)?)
            }
            None => (None, None),
        };
        let last_read = date("Last Date Read", self.field("Last Date Read"))?;
        let review = Some(html_text(self.field("Review"))).filter(|review| !review.is_empty());
        Ok(LibraryRow {
            row: self.row,
            title,
            subtitle,
            series,
            authors,
            isbns,
            status,
            shelves: list(self.field("Tags")).collect(),
            quarter_stars,
            date_added: date("Date Added", self.field("Date Added"))?,
            started_on,
            date_read: finished_on.or(last_read),
            read_count: read_count(self.field("Read Count"))?,
            review,
            spoiler: false,
            owned: self.field("Owned?").eq_ignore_ascii_case("yes"),
            pages: None,
            format: self.field("Format").to_owned(),
            year_published: None,
            original_year: None,
            survey: Survey {
                moods: words(list(self.field("Moods")), Mood::from_text),
                pace: Pace::from_text(self.field("Pace")),
                content_warnings: words(content_warnings(self.field("Content Warnings")), ContentWarning::from_text),
            },
        })
    }
}

impl<R: Read> Iterator for Rows<R> {
    type Item = Result<LibraryRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut record = std::mem::take(&mut self.record);
        let read = self.reader.read_record(&mut record);
        self.record = record;
        self.row += 1;
        let row = self.row;
        match read {
            Ok(false) => None,
            Ok(true) => Some(self.parse().and_then(check).map_err(|reason| RowError { row, reason })),
            // The reader resynchronizes at the next line: one bad row, not the file.
            Err(err) => Some(Err(RowError { row, reason: format!("not a CSV row: {err}") })),
        }
    }
}

/// What every row needs, whichever the format.
fn check(row: LibraryRow) -> Result<LibraryRow, String> {
    if row.title.is_empty() {
        return Err("the title is empty".into());
    }
    if row.authors.first().is_none_or(|author| author.is_empty()) {
        return Err("the author is empty".into());
    }
    if row.authors.len() > MAX_AUTHORS {
        return Err(format!("{} authors, more than a book may have ({MAX_AUTHORS})", row.authors.len()));
    }
    if row.shelves.len() > MAX_SHELVES {
        return Err(format!("{} shelves, more than one book may be on ({MAX_SHELVES})", row.shelves.len()));
    }
    Ok(row)
}

/// How many times the book was read: empty is none; more than [`MAX_READS`] is no reading log.
fn read_count(field: &str) -> Result<u32, String> {
    match field {
        "" => Ok(0),
        count => match count.parse::<u32>() {
            Ok(count) if count <= MAX_READS => Ok(count),
            _ => Err(format!("Read Count {count} is not 0 to {MAX_READS}")),
        },
    }
}

/// Goodreads writes ISBNs as `="0140449132"` so spreadsheets keep their zeros.
fn unquote_isbn(field: &str) -> &str {
    field.trim().trim_start_matches('=').trim_matches('"').trim()
}

/// A comma-separated list of names.
fn list(field: &str) -> impl Iterator<Item = String> + '_ {
    field.split(',').map(str::trim).filter(|item| !item.is_empty()).map(str::to_owned)
}

/// The survey's words a file names, each once in the vocabulary's order; others left out.
fn words<T: Ord>(names: impl Iterator<Item = String>, read: fn(&str) -> Option<T>) -> Vec<T> {
    let chosen: std::collections::BTreeSet<T> = names.filter_map(|name| read(&name)).collect();
    chosen.into_iter().collect()
}

/// StoryGraph's warnings, grouped by how much of the book they concern:
/// "Graphic: Death, Violence; Moderate: Grief; Minor: War" → Death, Violence, Grief, War.
fn content_warnings(field: &str) -> impl Iterator<Item = String> + '_ {
    field.split(';').flat_map(|group| {
        let names = group.split_once(':').map_or(group, |(_, names)| names);
        list(names).collect::<Vec<_>>()
    })
}

/// `2017/04/17` (both services) or `2017-04-17`; empty when unknown.
fn date(column: &str, field: &str) -> Result<Option<NaiveDate>, String> {
    let field = field.trim();
    if field.is_empty() {
        return Ok(None);
    }
    ["%Y/%m/%d", "%Y-%m-%d"]
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(field, format).ok())
        .map(Some)
        .ok_or_else(|| format!("{column} {field} is not a date (YYYY/MM/DD)"))
}

/// "Title: Subtitle (Series, #2)" → ("Title", "Subtitle", the series): the series in
/// parentheses comes off the title, the subtitle follows the first colon.
pub fn split_title(full: &str) -> (String, String, Option<SeriesPlace>) {
    let mut title = full.trim();
    let mut series = None;
    if let Some(open) = title.rfind(" (") {
        if title.ends_with(')') && title[open..].contains('#') {
            series = series_place(&title[open + 2..title.len() - 1]);
            title = title[..open].trim_end();
        }
    }
    let (title, subtitle) = match title.split_once(": ") {
        Some((main, subtitle)) => (main.trim().to_owned(), subtitle.trim().to_owned()),
        None => (title.to_owned(), String::new()),
    };
    (title, subtitle, series)
}

/// Goodreads' "Series, #2", "Series #2.5", "Series, #1-3" (an omnibus: its first number) or
/// "Series, #2; Other Series, #5" (the first series named).
fn series_place(inside: &str) -> Option<SeriesPlace> {
    let first = inside.split(';').next()?;
    let (name, number) = first.rsplit_once('#')?;
    let name = name.trim().trim_end_matches(',').trim();
    if name.is_empty() {
        return None;
    }
    let number = number.trim();
    let number = number.split(['-', '–']).next().and_then(SeriesPosition::parse);
    Some(SeriesPlace { name: name.to_owned(), number })
}

/// Reviews come as a little HTML: line breaks become new lines, other tags go.
fn html_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            text.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close].trim().to_lowercase();
        if tag.starts_with("br") || tag == "/p" {
            text.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storygraph_warnings_are_read_across_their_groups_and_unknown_words_left_out() {
        let warnings = words(
            content_warnings("Graphic: Death, Violence; Moderate: Grief, Spiders; Minor: War"),
            ContentWarning::from_text,
        );
        assert_eq!(
            warnings,
            [ContentWarning::Death, ContentWarning::Grief, ContentWarning::Violence, ContentWarning::War]
        );
        assert_eq!(words(list("dark, Reflective, dark, brooding"), Mood::from_text), [Mood::Dark, Mood::Reflective]);
    }

    #[test]
    fn a_title_gives_up_its_series_as_goodreads_writes_them() {
        let place =
            |name: &str, number: &str| Some(SeriesPlace { name: name.into(), number: SeriesPosition::parse(number) });
        for (full, title, subtitle, series) in [
            ("Edgedancer (The Stormlight Archive, #2.5)", "Edgedancer", "", place("The Stormlight Archive", "2.5")),
            ("Dune (Dune #1)", "Dune", "", place("Dune", "1")),
            (
                "The Lord of the Rings (The Lord of the Rings, #1-3)",
                "The Lord of the Rings",
                "",
                place("The Lord of the Rings", "1"),
            ),
            ("Guards! Guards! (Discworld, #8; City Watch, #1)", "Guards! Guards!", "", place("Discworld", "8")),
            ("Moscow 1956: The Silenced Spring", "Moscow 1956", "The Silenced Spring", None),
            ("Untitled (#3)", "Untitled", "", None),
            ("Oddly (Numbered, #x)", "Oddly", "", Some(SeriesPlace { name: "Numbered".into(), number: None })),
            ("A Book (not a series)", "A Book (not a series)", "", None),
        ] {
            let (t, s, place) = split_title(full);
            assert_eq!((t.as_str(), s.as_str(), place), (title, subtitle, series), "{full}");
        }
    }

    const GOODREADS_31: &str = "Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,My Rating,Average Rating,Publisher,Binding,Number of Pages,Year Published,Original Publication Year,Date Read,Date Added,Bookshelves,Bookshelves with positions,Exclusive Shelf,My Review,Spoiler,Private Notes,Read Count,Recommended For,Recommended By,Owned Copies,Original Purchase Date,Original Purchase Location,Condition,Condition Description,BCID
1,\"Moscow 1956: The Silenced Spring\",Kathleen E. Smith,\"Smith, Kathleen E.\",,\"=\"\"0674971809\"\"\",\"=\"\"9780674971806\"\"\",4,4.12,Harvard University Press,Hardcover,448,2017,2017,2024/03/20,2024/03/01,\"soviet-history, did-not-finish\",\"soviet-history (#3)\",read,\"Careful.<br/>Humane &amp; clear.\",,,2,,,1,,,,,
2,\"The Way of Kings (The Stormlight Archive, #1)\",Brandon Sanderson,\"Sanderson, Brandon\",,=\"\",=\"\",0,4.65,Tor,Paperback,,2010,2010,,2023/01/05,,,to-read,,,,0,,,0,,,,,
";

    const GOODREADS_24: &str = "Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,My Rating,Average Rating,Publisher,Binding,Number of Pages,Year Published,Original Publication Year,Date Read,Date Added,Bookshelves,Bookshelves with positions,Exclusive Shelf,My Review,Spoiler,Private Notes,Read Count,Owned Copies
7,Gulag Voices,Anne Applebaum,\"Applebaum, Anne\",\"Kathleen E. Smith, Ann Other\",,,5,4.0,,,200,,2011,,2022/12/31,dnf-pile,,did-not-finish,\"Too grim
to finish.\",true,,0,0
";

    const STORYGRAPH: &str = "Title,Authors,Contributors,ISBN/UID,Format,Read Status,Date Added,Last Date Read,Dates Read,Read Count,Moods,Pace,Character- or Plot-Driven?,Strong Character Development?,Loveable Characters?,Diverse Characters?,Flawed Characters?,Star Rating,Review,Content Warnings,Content Warning Description,Tags,Owned?
Moscow 1956,Kathleen E. Smith,,9780674971806,hardcover,read,2024/02/27,2024/03/20,\"2023/01/02-2023/01/20, 2024/03/01-2024/03/20\",2,reflective,slow,,,,,,3.75,Careful.,,,\"history, russia\",Yes
Paused Book,Ann Other,,sg-uid-1,ebook,paused,2025/05/01,,,0,,,,,,,,,,,,,No
";

    fn rows(format: Format, file: &str) -> Vec<Result<LibraryRow, RowError>> {
        Rows::new(format, file.as_bytes()).map(|rows| rows.collect()).unwrap_or_default()
    }

    fn day(text: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
    }

    #[test]
    fn goodreads_31_columns_read_with_quoted_isbns_shelves_and_the_series_off_the_title() {
        let rows = rows(Format::Goodreads, GOODREADS_31);
        let moscow = rows[0].clone().unwrap_or_default();
        assert_eq!((moscow.title.as_str(), moscow.subtitle.as_str()), ("Moscow 1956", "The Silenced Spring"));
        assert_eq!(
            moscow.isbns.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["9780674971806", "9780674971806"]
        );
        assert_eq!((moscow.status, moscow.quarter_stars), (Some(Status::Read), Some(16)));
        assert_eq!(moscow.shelves, ["soviet-history"], "the status names are not custom shelves");
        assert_eq!((moscow.date_read, moscow.date_added), (day("2024-03-20"), day("2024-03-01")));
        assert_eq!((moscow.read_count, moscow.owned, moscow.pages), (2, true, Some(448)));
        assert_eq!(moscow.review.as_deref(), Some("Careful.\nHumane & clear."));
        assert_eq!(moscow.series, None);
        let kings = rows[1].clone().unwrap_or_default();
        assert_eq!((kings.title.as_str(), kings.subtitle.as_str()), ("The Way of Kings", ""));
        let stormlight = SeriesPlace { name: "The Stormlight Archive".into(), number: SeriesPosition::parse("1") };
        assert_eq!(kings.series, Some(stormlight));
        assert_eq!((kings.status, kings.quarter_stars, kings.isbns.len()), (Some(Status::ToRead), None, 0));
    }

    #[test]
    fn goodreads_24_columns_read_with_a_review_over_two_lines_and_a_custom_exclusive_shelf() {
        let rows = rows(Format::Goodreads, GOODREADS_24);
        let gulag = rows[0].clone().unwrap_or_default();
        assert_eq!(gulag.authors, ["Anne Applebaum", "Kathleen E. Smith", "Ann Other"]);
        assert_eq!((gulag.status, gulag.spoiler, gulag.quarter_stars), (Some(Status::DidNotFinish), true, Some(20)));
        assert_eq!(gulag.review.as_deref(), Some("Too grim\nto finish."));
        assert_eq!(gulag.shelves, ["dnf-pile"]);
    }

    #[test]
    fn storygraph_reads_quarter_stars_date_ranges_tags_and_paused() {
        let rows = rows(Format::StoryGraph, STORYGRAPH);
        let moscow = rows[0].clone().unwrap_or_default();
        assert_eq!((moscow.quarter_stars, moscow.read_count), (Some(15), 2));
        assert_eq!((moscow.started_on, moscow.date_read), (day("2024-03-01"), day("2024-03-20")));
        assert_eq!((moscow.shelves.clone(), moscow.owned), (vec!["history".to_owned(), "russia".to_owned()], true));
        assert_eq!(
            moscow.survey,
            Survey { moods: vec![Mood::Reflective], pace: Some(Pace::Slow), content_warnings: vec![] }
        );
        let paused = rows[1].clone().unwrap_or_default();
        assert_eq!((paused.status, paused.isbns.len()), (Some(Status::Paused), 0), "a StoryGraph UID is no ISBN");
    }

    #[test]
    fn a_bad_row_is_an_error_naming_it_and_the_rest_are_read() {
        let file = format!(
            "{}{}",
            GOODREADS_24,
            "8,,Nobody,,,,,3,,,,,,,,2020/01/01,,,read,,,,1,0\n\
             9,Bad Stars,Someone,,,,,9,,,,,,,,2020/01/01,,,read,,,,1,0\n\
             10,Bad Date,Someone,,,,,3,,,,,,,2020/13/45,2020/01/01,,,read,,,,1,0\n\
             11,Bad ISBN,Someone,,,=\"0140449133\",,3,,,,,,,,2020/01/01,,,read,,,,1,0\n\
             12,Short,Row\n\
             13,Fine,Someone,,,,,3,,,,,,,,2020/01/01,,,read,,,,1,0\n"
        );
        let rows = rows(Format::Goodreads, &file);
        let reasons: Vec<(u32, String)> =
            rows.iter().filter_map(|r| r.as_ref().err()).map(|e| (e.row, e.reason.clone())).collect();
        assert_eq!(reasons.iter().map(|(row, _)| *row).collect::<Vec<_>>(), [2, 3, 4, 5, 6]);
        assert!(reasons[0].1.contains("title"), "{reasons:?}");
        assert!(reasons[1].1.contains("My Rating"), "{reasons:?}");
        assert!(reasons[2].1.contains("Date Read"), "{reasons:?}");
        assert!(reasons[3].1.contains("ISBN"), "{reasons:?}");
        assert!(reasons[4].1.contains("fields"), "{reasons:?}");
        assert_eq!(rows.last().and_then(|r| r.as_ref().ok()).map(|r| r.row), Some(7));
    }

    #[test]
    fn rows_past_their_bounds_are_errors_before_anything_reads_them() {
        let long = "x".repeat(MAX_CELL_BYTES + 1);
        let file = format!(
            "{GOODREADS_24}\
             8,Reread,Someone,,,,,3,,,,,,,,2020/01/01,,,read,,,,4294967295,0\n\
             9,Reread,Someone,,,,,3,,,,,,,,2020/01/01,,,read,,,,many,0\n\
             10,Long,Someone,,,,,3,,,,,,,,2020/01/01,,,read,{long},,,1,0\n\
             11,Nul\0Title,Someone,,,,,3,,,,,,,,2020/01/01,,,read,,,,1,0\n\
             12,Shelved,Someone,,,,,3,,,,,,,,2020/01/01,\"{shelves}\",,read,,,,1,0\n\
             13,Reread,Someone,,,,,3,,,,,,,,2020/01/01,,,read,,,,{MAX_READS},0\n",
            shelves = (0..=MAX_SHELVES).map(|i| format!("s{i}")).collect::<Vec<_>>().join(","),
        );
        let rows = rows(Format::Goodreads, &file);
        let reasons: Vec<String> = rows.iter().filter_map(|r| r.as_ref().err()).map(|e| e.reason.clone()).collect();
        assert_eq!(reasons.len(), 5, "{reasons:?}");
        assert!(reasons[0].contains("Read Count 4294967295"), "{reasons:?}");
        assert!(reasons[1].contains("Read Count many"), "{reasons:?}");
        assert!(reasons[2].contains("My Review holds"), "{reasons:?}");
        assert!(reasons[3].contains("NUL"), "{reasons:?}");
        assert!(reasons[4].contains("shelves"), "{reasons:?}");
        assert_eq!(rows.last().and_then(|r| r.as_ref().ok()).map(|r| r.read_count), Some(MAX_READS));
    }

    #[test]
    fn a_cell_an_export_made_inert_is_read_as_the_reader_wrote_it() {
        let file = format!(
            "{GOODREADS_24}\
             8,'=HYPERLINK(\"http://x\"),'-Someone,,,,,3,,,'@Paperback,,,,,2020/01/01,\"'+shelf, 'plain\",,read,'=1+1,,,1,0\n"
        );
        let rows = rows(Format::Goodreads, &file);
        let row = rows.last().and_then(|row| row.as_ref().ok()).cloned().unwrap_or_default();
        assert_eq!((row.title.as_str(), row.authors[0].as_str()), ("=HYPERLINK(\"http://x\")", "-Someone"));
        assert_eq!((row.format.as_str(), row.review.as_deref()), ("@Paperback", Some("=1+1")));
        assert_eq!(row.shelves, ["+shelf", "'plain"], "only the cell's first quote is the export's");
        let mut cell = "=1+1".to_owned();
        input::inert(&mut cell);
        assert_eq!(cell, "'=1+1");
        let mut plain = "Moscow 1956".to_owned();
        input::inert(&mut plain);
        assert_eq!(plain, "Moscow 1956");
    }

    #[test]
    fn a_file_of_another_format_is_refused_naming_the_missing_column() {
        let refused = Rows::new(Format::StoryGraph, GOODREADS_24.as_bytes()).err().map(|e| e.to_string());
        assert_eq!(refused.as_deref(), Some("this is not a STORYGRAPH export: it has no Authors column"));
    }
}
