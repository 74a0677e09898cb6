//! The survey decider: one reader's answers about one book's moods, pace and content
//! warnings. Pure, tested given/when/then.

use std::collections::BTreeSet;

use readstream_contracts::{ContentWarning, Decider, Mood, Pace, RatingsEvent, Rejection, Survey};

use crate::domain::RatingFacts;

/// The most words one answer may list, before any is read (the vocabularies are shorter).
const MAX_WORDS: usize = 100;

/// The reader's answers as they stand.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Answers {
    pub survey: Survey,
}

/// The answers as the client sent them: words of the vocabularies, any case.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Describe {
    pub moods: Vec<String>,
    /// Empty when not said.
    pub pace: String,
    pub content_warnings: Vec<String>,
}

/// Each word once, in the vocabulary's order; a word outside it names the field and the words.
fn words<T: Ord + Copy>(
    field: &'static str,
    texts: &[String],
    read: fn(&str) -> Option<T>,
    all: &[T],
    spell: fn(T) -> &'static str,
) -> Result<Vec<T>, Rejection> {
    if texts.len() > MAX_WORDS {
        return Err(Rejection::invalid(field, format!("{field} lists at most {MAX_WORDS} words")));
    }
    let mut chosen = BTreeSet::new();
    for text in texts {
        let Some(word) = read(text) else {
            let known: Vec<&str> = all.iter().map(|word| spell(*word)).collect();
            let shown: String = text.chars().take(40).collect();
            return Err(Rejection::invalid(field, format!("{shown:?} is not one of {}", known.join(", "))));
        };
        chosen.insert(word);
    }
    Ok(chosen.into_iter().collect())
}

impl Decider for Answers {
    type Command = Describe;
    type Facts = RatingFacts;
    type Event = RatingsEvent;
    type Error = Rejection;

    /// The same answers again append nothing; all empty takes them back.
    fn decide(&self, command: &Describe, facts: &RatingFacts) -> Result<Vec<RatingsEvent>, Rejection> {
        let survey = Survey {
            moods: words("moods", &command.moods, Mood::from_text, Mood::ALL, Mood::as_str)?,
            pace: match command.pace.trim() {
                "" => None,
                pace => Some(words("pace", &[pace.to_owned()], Pace::from_text, Pace::ALL, Pace::as_str)?[0]),
            },
            content_warnings: words(
                "contentWarnings",
                &command.content_warnings,
                ContentWarning::from_text,
                ContentWarning::ALL,
                ContentWarning::as_str,
            )?,
        };
        if !facts.book_exists {
            return Err(Rejection::not_found("bookId", "no book with this id"));
        }
        if survey == self.survey {
            return Ok(Vec::new());
        }
        Ok(vec![RatingsEvent::BookDescribed { reader_id: facts.reader_id, book_id: facts.book_id, survey }])
    }

    fn evolve(self, event: &RatingsEvent) -> Self {
        match event {
            RatingsEvent::BookDescribed { survey, .. } => Answers { survey: survey.clone() },
            // On the rating's own subject, never the survey's.
            RatingsEvent::BookRated { .. } | RatingsEvent::RatingCleared { .. } => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use readstream_contracts::Code;
    use readstream_testkit::decider::given;
    use uuid::Uuid;

    use super::*;

    const FACTS: RatingFacts = RatingFacts { reader_id: Uuid::nil(), book_id: Uuid::max(), book_exists: true };

    fn describe(moods: &[&str], pace: &str, warnings: &[&str]) -> Describe {
        Describe {
            moods: moods.iter().map(|word| (*word).to_owned()).collect(),
            pace: pace.into(),
            content_warnings: warnings.iter().map(|word| (*word).to_owned()).collect(),
        }
    }

    fn described(moods: Vec<Mood>, pace: Option<Pace>, content_warnings: Vec<ContentWarning>) -> RatingsEvent {
        RatingsEvent::BookDescribed {
            reader_id: Uuid::nil(),
            book_id: Uuid::max(),
            survey: Survey { moods, pace, content_warnings },
        }
    }

    #[test]
    fn given_no_answers_when_described_then_each_word_once_in_the_vocabularys_order() {
        given::<Answers>([])
            .when(describe(&["Reflective", "dark", "reflective"], "slow", &["war", "Death of parent"]), FACTS)
            .then([described(
                vec![Mood::Dark, Mood::Reflective],
                Some(Pace::Slow),
                vec![ContentWarning::DeathOfParent, ContentWarning::War],
            )]);
    }

    #[test]
    fn given_answers_when_the_same_again_then_nothing_and_when_all_empty_then_taken_back() {
        let answered = described(vec![Mood::Dark], None, vec![]);
        given::<Answers>([answered.clone()]).when(describe(&["dark"], "", &[]), FACTS).then([]);
        given::<Answers>([answered]).when(describe(&[], "", &[]), FACTS).then([described(vec![], None, vec![])]);
        given::<Answers>([]).when(describe(&[], "", &[]), FACTS).then([]);
    }

    #[test]
    fn given_any_answers_when_a_word_is_not_in_the_vocabulary_then_refused_naming_the_field() {
        given::<Answers>([])
            .when(describe(&["grumpy"], "", &[]), FACTS)
            .then_refused(Code::InvalidArgument, Some("moods"));
        given::<Answers>([])
            .when(describe(&[], "glacial", &[]), FACTS)
            .then_refused(Code::InvalidArgument, Some("pace"));
        given::<Answers>([])
            .when(describe(&[], "", &["spiders"]), FACTS)
            .then_refused(Code::InvalidArgument, Some("contentWarnings"));
        let many = vec!["dark".to_owned(); MAX_WORDS + 1];
        given::<Answers>([])
            .when(Describe { moods: many, ..Describe::default() }, FACTS)
            .then_refused(Code::InvalidArgument, Some("moods"));
        let no_book = RatingFacts { book_exists: false, ..FACTS };
        given::<Answers>([]).when(describe(&["dark"], "", &[]), no_book).then_refused(Code::NotFound, Some("bookId"));
    }
}
