//! A reader's year: their reading goal (target, progress, schedule in their own time zone) and
//! their year in review. Both follow the reader's privacy setting, as their shelves do.

use std::collections::{HashMap, HashSet};

use async_graphql::SimpleObject;
use chrono::{Datelike, NaiveDate};
use readstream_readmodel::goals::{self, Finished};
use sqlx::PgPool;
use uuid::Uuid;

use super::super::shared::{exact_stars, whole_stars, Author, Book};
use crate::error::ApiError;

/// A reader's target of books for a year, and how they stand against it today.
#[derive(Debug, Clone, PartialEq, SimpleObject)]
pub struct ReadingGoal {
    pub year: i32,
    /// Books to finish in the year.
    pub target: i32,
    /// Books finished in the year so far (a reread counts each time it is finished).
    pub finished: i32,
    /// `round(100 * finished / target)`: past 100 once the goal is beaten.
    pub percent: i32,
    /// Books still to finish; 0 once the goal is met.
    pub remaining: i32,
    /// Today's date where the reader lives (`Reader.timeZone`, UTC until they set one).
    pub today: NaiveDate,
    /// What a steady pace would have finished by the end of today: `floor(target * day of the
    /// year / days in the year)`; the whole target for a past year, 0 for a future one.
    pub expected_by_today: i32,
    /// `finished - expectedByToday`: how many books ahead of schedule (behind when negative).
    pub books_ahead_of_schedule: i32,
}

impl ReadingGoal {
    /// The goal's figures for `finished` books on `today`.
    pub fn measure(year: i32, target: i32, finished: i32, today: NaiveDate) -> Self {
        let days = if NaiveDate::from_ymd_opt(year, 2, 29).is_some() { 366 } else { 365 };
        let elapsed = match today.year().cmp(&year) {
            std::cmp::Ordering::Less => 0,
            std::cmp::Ordering::Equal => i64::from(today.ordinal()),
            std::cmp::Ordering::Greater => days,
        };
        let expected_by_today = (i64::from(target) * elapsed / days) as i32;
        let percent = (100.0 * f64::from(finished) / f64::from(target)).round() as i32;
        ReadingGoal {
            year,
            target,
            finished,
            percent,
            remaining: (target - finished).max(0),
            today,
            expected_by_today,
            books_ahead_of_schedule: finished - expected_by_today,
        }
    }
}

/// `reader_id`'s goal for `year`, measured now; `None` when they set none.
pub async fn goal(pool: &PgPool, reader_id: Uuid, year: i32) -> Result<Option<ReadingGoal>, ApiError> {
    let Some(target) = goals::goal(pool, reader_id, year).await? else { return Ok(None) };
    let (from, to) = year_bounds(year)?;
    let finished = goals::finished_between(pool, reader_id, from, to).await?.len() as i32;
    let today = goals::today_of(pool, reader_id).await?;
    Ok(Some(ReadingGoal::measure(year, target, finished, today)))
}

/// The first day of `year` and of the next, for the years a reading log holds.
pub fn year_bounds(year: i32) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let earliest = readstream_contracts::input::EARLIEST_READING_DATE.year();
    let last = readstream_contracts::reading::MAX_GOAL_YEAR;
    (earliest..=last)
        .contains(&year)
        .then(|| Some((NaiveDate::from_ymd_opt(year, 1, 1)?, NaiveDate::from_ymd_opt(year + 1, 1, 1)?)))
        .flatten()
        .ok_or_else(|| ApiError::invalid("year", format!("year must be {earliest} to {last}")))
}

/// A book of a reader's year, as their year in review names it.
#[derive(Debug, Clone, SimpleObject)]
pub struct YearBook {
    pub book: Book,
    /// The day they finished it (the last time, for a book finished twice).
    pub finished_on: NaiveDate,
    /// Its page count; null when unknown.
    pub pages: Option<i32>,
    /// Their rating of it now, in whole stars (quarters rounded half up).
    pub stars: Option<i32>,
    /// Their rating of it now, as they gave it.
    pub exact_stars: Option<f64>,
}

/// The author whose books a reader finished most in a year.
#[derive(Debug, Clone, SimpleObject)]
pub struct AuthorOfTheYear {
    pub author: Author,
    /// How many of their books the reader finished in the year (each book once).
    pub books: i32,
}

/// What a year in review picks out of the books a reader finished in it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Picks {
    pub shortest: Option<Finished>,
    pub longest: Option<Finished>,
    pub highest_rated: Option<Finished>,
    pub first: Option<Finished>,
    pub last: Option<Finished>,
    /// The mean of their ratings of the books they finished (each book once), in stars.
    pub average_stars: Option<f64>,
    /// (author, books finished), most first; the author reached first wins a tie.
    pub author: Option<(Uuid, i32)>,
}

impl Picks {
    /// From the year's finished books in the order they were finished. A book finished twice
    /// counts once, as its last finish; books without a page count are left out of the
    /// shortest and longest; ties go to the book finished first.
    pub fn of(finished: &[Finished]) -> Self {
        let mut books: Vec<&Finished> = Vec::new();
        let mut at: HashMap<Uuid, usize> = HashMap::new();
        for row in finished {
            match at.get(&row.book_id) {
                Some(&i) => books[i] = row,
                None => {
                    at.insert(row.book_id, books.len());
                    books.push(row);
                }
            }
        }
        let paged = || books.iter().copied().filter(|b| b.pages > 0);
        let shortest = paged().fold(None::<&Finished>, |best, b| match best {
            Some(best) if best.pages <= b.pages => Some(best),
            _ => Some(b),
        });
        let longest = paged().fold(None::<&Finished>, |best, b| match best {
            Some(best) if best.pages >= b.pages => Some(best),
            _ => Some(b),
        });
        let rated = || books.iter().copied().filter_map(|b| b.quarter_stars.map(|q| (b, q)));
        let highest_rated = rated()
            .fold(None::<(&Finished, i16)>, |best, (b, q)| match best {
                Some((best, top)) if top >= q => Some((best, top)),
                _ => Some((b, q)),
            })
            .map(|(b, _)| b);
        let (count, sum) = rated().fold((0, 0i64), |(n, sum), (_, q)| (n + 1, sum + i64::from(q)));
        let average_stars = (count > 0).then(|| sum as f64 / 4.0 / f64::from(count));
        let mut by_author: Vec<(Uuid, i32)> = Vec::new();
        let mut seen: HashSet<(Uuid, Uuid)> = HashSet::new();
        for book in &books {
            for author in &book.author_ids {
                if !seen.insert((*author, book.book_id)) {
                    continue;
                }
                match by_author.iter_mut().find(|(id, _)| id == author) {
                    Some((_, n)) => *n += 1,
                    None => by_author.push((*author, 1)),
                }
            }
        }
        let author = by_author.into_iter().fold(None::<(Uuid, i32)>, |best, (id, n)| match best {
            Some((_, top)) if top >= n => best,
            _ => Some((id, n)),
        });
        Picks {
            shortest: shortest.cloned(),
            longest: longest.cloned(),
            highest_rated: highest_rated.cloned(),
            first: finished.first().cloned(),
            last: finished.last().cloned(),
            average_stars,
            author,
        }
    }
}

/// A finished book as a year in review shows it (`None` if the book is gone from the catalog).
pub async fn year_book(ctx: &async_graphql::Context<'_>, row: Option<Finished>) -> Result<Option<YearBook>, ApiError> {
    let Some(row) = row else { return Ok(None) };
    let Some(book) = Book::load(ctx, row.book_id).await? else { return Ok(None) };
    Ok(Some(YearBook {
        book,
        finished_on: row.on,
        pages: (row.pages > 0).then_some(row.pages),
        stars: row.quarter_stars.map(whole_stars),
        exact_stars: row.quarter_stars.map(exact_stars),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap_or_else(|_| panic!("{text} is a date"))
    }

    #[test]
    fn a_goal_is_measured_against_a_steady_pace_to_the_end_of_today() {
        // 2026 has 365 days; 24 books by 1 July (day 182) is 11 expected.
        let goal = ReadingGoal::measure(2026, 24, 13, day("2026-07-01"));
        assert_eq!((goal.expected_by_today, goal.books_ahead_of_schedule, goal.percent), (11, 2, 54));
        assert_eq!(goal.remaining, 11);
        // 2024 is a leap year: day 183 of 366 is exactly half.
        let goal = ReadingGoal::measure(2024, 10, 3, day("2024-07-01"));
        assert_eq!((goal.expected_by_today, goal.books_ahead_of_schedule), (5, -2));
        // Past and future years, and a goal beaten.
        assert_eq!(ReadingGoal::measure(2025, 12, 15, day("2026-01-01")).expected_by_today, 12);
        assert_eq!(ReadingGoal::measure(2025, 12, 15, day("2026-01-01")).percent, 125);
        assert_eq!(ReadingGoal::measure(2025, 12, 15, day("2026-01-01")).remaining, 0);
        assert_eq!(ReadingGoal::measure(2027, 12, 0, day("2026-12-31")).books_ahead_of_schedule, 0);
        // The last day of the year expects the whole target.
        assert_eq!(ReadingGoal::measure(2026, 52, 0, day("2026-12-31")).expected_by_today, 52);
    }

    fn finished(book: u128, on: &str, pages: i32, quarters: Option<i16>, authors: &[u128]) -> Finished {
        Finished {
            book_id: Uuid::from_u128(book),
            on: day(on),
            position: 0,
            pages,
            quarter_stars: quarters,
            author_ids: authors.iter().copied().map(Uuid::from_u128).collect(),
        }
    }

    #[test]
    fn a_year_in_review_picks_each_book_once_and_leaves_unknown_page_counts_out() {
        let rows = [
            finished(1, "2026-01-05", 320, Some(15), &[10]),
            finished(2, "2026-02-10", 0, Some(20), &[11]),
            finished(3, "2026-03-01", 120, None, &[10, 11]),
            finished(4, "2026-04-01", 900, Some(13), &[12]),
            // Book 1 again: a reread, counted once, as this last finish.
            finished(1, "2026-05-01", 320, Some(15), &[10]),
        ];
        let picks = Picks::of(&rows);
        let id = |pick: &Option<Finished>| pick.as_ref().map(|f| (f.book_id.as_u128(), f.on));
        assert_eq!(id(&picks.shortest), Some((3, day("2026-03-01"))));
        assert_eq!(id(&picks.longest), Some((4, day("2026-04-01"))));
        assert_eq!(id(&picks.highest_rated), Some((2, day("2026-02-10"))));
        assert_eq!(id(&picks.first), Some((1, day("2026-01-05"))));
        assert_eq!(id(&picks.last), Some((1, day("2026-05-01"))));
        // 3.75, 5 and 3.25 (book 1 once): 12 / 3.
        assert_eq!(picks.average_stars, Some(4.0));
        // Author 10 wrote books 1 and 3, author 11 books 2 and 3: a tie, to the one reached first.
        assert_eq!(picks.author, Some((Uuid::from_u128(10), 2)));
        assert_eq!(Picks::of(&[]), Picks::default());
    }
}
