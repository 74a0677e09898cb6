//! The reading-goal decider: one reader's target of books for one year. Pure: no I/O, tested
//! given/when/then.

use chrono::Datelike;
use readstream_contracts::{
    input::EARLIEST_READING_DATE,
    reading::{GoalEvent, MAX_GOAL_BOOKS, MAX_GOAL_YEAR},
    Code, Decider, Rejection,
};
use uuid::Uuid;

/// The reader's target for the year, if they set one.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Goal {
    pub books: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalCommand {
    /// As the client sent it; the decider checks it is 1 to `MAX_GOAL_BOOKS`.
    Set {
        books: i32,
    },
    Remove,
}

/// Whose goal, for which year (as the client sent it: the decider checks it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoalFacts {
    pub reader_id: Uuid,
    pub year: i32,
}

/// The years a goal may be set for: those a reading log may hold.
pub fn valid_year(year: i32) -> Result<i32, Rejection> {
    let earliest = EARLIEST_READING_DATE.year();
    if !(earliest..=MAX_GOAL_YEAR).contains(&year) {
        return Err(Rejection::invalid("year", format!("year must be {earliest} to {MAX_GOAL_YEAR}")));
    }
    Ok(year)
}

impl Decider for Goal {
    type Command = GoalCommand;
    type Facts = GoalFacts;
    type Event = GoalEvent;
    type Error = Rejection;

    /// Setting the same target again changes nothing and appends nothing.
    fn decide(&self, command: &GoalCommand, facts: &GoalFacts) -> Result<Vec<GoalEvent>, Rejection> {
        let GoalFacts { reader_id, year } = *facts;
        let year = valid_year(year)?;
        match *command {
            GoalCommand::Set { books } => {
                let books = u32::try_from(books)
                    .ok()
                    .filter(|books| (1..=MAX_GOAL_BOOKS).contains(books))
                    .ok_or_else(|| Rejection::invalid("books", format!("a goal is 1 to {MAX_GOAL_BOOKS} books")))?;
                if self.books == Some(books) {
                    return Ok(vec![]);
                }
                Ok(vec![GoalEvent::ReadingGoalSet { reader_id, year, books }])
            }
            GoalCommand::Remove => match self.books {
                Some(_) => Ok(vec![GoalEvent::ReadingGoalRemoved { reader_id, year }]),
                None => Err(Rejection {
                    code: Code::NotFound,
                    message: format!("you have no goal for {year}"),
                    field: Some("year"),
                    retry_after_secs: None,
                }),
            },
        }
    }

    fn evolve(self, event: &GoalEvent) -> Self {
        match event {
            GoalEvent::ReadingGoalSet { books, .. } => Goal { books: Some(*books) },
            GoalEvent::ReadingGoalRemoved { .. } => Goal { books: None },
        }
    }
}

#[cfg(test)]
mod tests {
    use readstream_testkit::decider::given;

    use super::*;

    const FACTS: GoalFacts = GoalFacts { reader_id: Uuid::nil(), year: 2026 };

    fn set(books: u32) -> GoalEvent {
        GoalEvent::ReadingGoalSet { reader_id: Uuid::nil(), year: 2026, books }
    }

    #[test]
    fn given_no_goal_when_set_then_the_goal_is_set() {
        given::<Goal>([]).when(GoalCommand::Set { books: 52 }, FACTS).then([set(52)]);
    }

    #[test]
    fn given_a_goal_when_set_again_then_the_new_target_replaces_it_and_the_same_one_appends_nothing() {
        given::<Goal>([set(52)]).when(GoalCommand::Set { books: 40 }, FACTS).then([set(40)]);
        given::<Goal>([set(52)]).when(GoalCommand::Set { books: 52 }, FACTS).then([]);
    }

    #[test]
    fn when_the_target_is_outside_one_to_ten_thousand_then_invalid_argument() {
        for books in [0, -1, 10_001, i32::MAX, i32::MIN] {
            given::<Goal>([])
                .when(GoalCommand::Set { books }, FACTS)
                .then_refused(Code::InvalidArgument, Some("books"));
        }
    }

    #[test]
    fn when_the_year_is_outside_the_reading_log_then_invalid_argument() {
        for year in [1899, 10_000, -5, i32::MAX] {
            let facts = GoalFacts { year, ..FACTS };
            given::<Goal>([])
                .when(GoalCommand::Set { books: 5 }, facts)
                .then_refused(Code::InvalidArgument, Some("year"));
        }
    }

    #[test]
    fn given_a_goal_when_removed_then_removed_and_without_one_not_found() {
        let removed = GoalEvent::ReadingGoalRemoved { reader_id: Uuid::nil(), year: 2026 };
        given::<Goal>([set(12)]).when(GoalCommand::Remove, FACTS).then([removed.clone()]);
        for history in [vec![], vec![set(12), removed]] {
            given::<Goal>(history).when(GoalCommand::Remove, FACTS).then_refused(Code::NotFound, Some("year"));
        }
    }
}
