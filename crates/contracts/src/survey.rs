//! What a reader says a book is, as StoryGraph asks it: its moods, its pace and its content
//! warnings, each from a fixed vocabulary, so answers count across readers.

/// A fixed vocabulary: an enum whose every word has one spelling on the wire, in the read
/// models and in the API, read back case and separators aside.
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Its one spelling: lower case, words joined by `-`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The word `text` names, case, spaces and `_` aside (`Lighthearted`, `self_harm`).
            pub fn from_text(text: &str) -> Option<Self> {
                let key = text.trim().to_lowercase().replace([' ', '_'], "-");
                Self::ALL.iter().copied().find(|word| word.as_str() == key)
            }
        }
    };
}

vocabulary!(
    /// How a book feels to read: StoryGraph's moods.
    Mood {
        Adventurous => "adventurous",
        Challenging => "challenging",
        Dark => "dark",
        Emotional => "emotional",
        Funny => "funny",
        Hopeful => "hopeful",
        Informative => "informative",
        Inspiring => "inspiring",
        Lighthearted => "lighthearted",
        Mysterious => "mysterious",
        Reflective => "reflective",
        Relaxing => "relaxing",
        Sad => "sad",
        Tense => "tense",
    }
);

vocabulary!(
    /// How fast a book reads.
    Pace {
        Slow => "slow",
        Medium => "medium",
        Fast => "fast",
    }
);

vocabulary!(
    /// What a reader may want to know before starting a book.
    ContentWarning {
        Ableism => "ableism",
        Abortion => "abortion",
        Addiction => "addiction",
        AnimalDeath => "animal-death",
        Antisemitism => "antisemitism",
        Blood => "blood",
        BodyHorror => "body-horror",
        Bullying => "bullying",
        Cancer => "cancer",
        CarAccident => "car-accident",
        ChildAbuse => "child-abuse",
        ChildDeath => "child-death",
        Colonisation => "colonisation",
        Confinement => "confinement",
        Death => "death",
        DeathOfParent => "death-of-parent",
        Dementia => "dementia",
        DomesticAbuse => "domestic-abuse",
        DrugUse => "drug-use",
        EatingDisorder => "eating-disorder",
        EmotionalAbuse => "emotional-abuse",
        Genocide => "genocide",
        Gore => "gore",
        Grief => "grief",
        GunViolence => "gun-violence",
        Homophobia => "homophobia",
        Incest => "incest",
        Infidelity => "infidelity",
        Kidnapping => "kidnapping",
        MentalIllness => "mental-illness",
        Miscarriage => "miscarriage",
        Misogyny => "misogyny",
        Murder => "murder",
        Pandemic => "pandemic",
        PhysicalAbuse => "physical-abuse",
        PoliceBrutality => "police-brutality",
        Racism => "racism",
        Rape => "rape",
        SelfHarm => "self-harm",
        SexualAssault => "sexual-assault",
        SexualContent => "sexual-content",
        Slavery => "slavery",
        Suicide => "suicide",
        TerminalIllness => "terminal-illness",
        Torture => "torture",
        Transphobia => "transphobia",
        Violence => "violence",
        War => "war",
    }
);

/// One reader's answers about one book; all empty: they took their answers back.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Survey {
    /// Each once, in the vocabulary's order.
    pub moods: Vec<Mood>,
    pub pace: Option<Pace>,
    /// Each once, in the vocabulary's order.
    pub content_warnings: Vec<ContentWarning>,
}

impl Survey {
    pub fn is_empty(&self) -> bool {
        self.moods.is_empty() && self.pace.is_none() && self.content_warnings.is_empty()
    }
}

/// Shelf names that say where a book is or what the reader did with it, not what it is.
const NOT_GENRES: &[&str] = &[
    "abandoned",
    "arc",
    "arcs",
    "audible",
    "audio",
    "audiobook",
    "beach read",
    "book club",
    "bookclub",
    "books i own",
    "borrowed",
    "bought",
    "currently reading",
    "default",
    "did not finish",
    "dnf",
    "e book",
    "ebook",
    "favorite",
    "favourite",
    "fave",
    "gave up",
    "hardcover",
    "kindle",
    "kindle unlimited",
    "kobo",
    "library",
    "library book",
    "maybe",
    "my books",
    "netgalley",
    "nook",
    "not interested",
    "on hold",
    "own",
    "owned",
    "owned book",
    "owned tbr",
    "paperback",
    "paused",
    "physical",
    "physical book",
    "re read",
    "read",
    "reread",
    "series",
    "shelfari",
    "standalone",
    "tbr",
    "to buy",
    "to read",
    "unfinished",
    "unread",
    "want to read",
    "wishlist",
    "wish list",
];

/// The genre a reader's shelf name says, as Goodreads derives genres from shelves: lower case,
/// accents off, `-`, `_` and spaces as one separator, the last word singular
/// (`Science-Fictions` and `science fiction` are `science-fiction`). `None` for a shelf that
/// says no genre: one of [`NOT_GENRES`] (to-read, owned, kindle, favourites, …), a year or a
/// number (`2019`, `read-in-2019`, `5-stars`), or no letters at all.
pub fn genre(shelf: &str) -> Option<String> {
    use unicode_normalization::{char::is_combining_mark, UnicodeNormalization as _};
    let folded: String = shelf.nfd().filter(|c| !is_combining_mark(*c)).collect::<String>().to_lowercase();
    let mut words: Vec<String> = folded
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|word| word.trim_matches('\'').to_owned())
        .filter(|word| !word.is_empty())
        .collect();
    if words.is_empty() || words.len() > 6 || words.iter().any(|word| word.chars().any(|c| c.is_ascii_digit())) {
        return None;
    }
    if let Some(last) = words.last_mut() {
        *last = singular(last);
    }
    let phrase = words.join(" ");
    let bare = phrase.trim_end_matches('s');
    if NOT_GENRES.iter().any(|stop| *stop == phrase || *stop == bare) || phrase.chars().count() > 60 {
        return None;
    }
    Some(words.join("-"))
}

/// An English plural made singular, as shelf names write them: stories, witches, thrillers.
fn singular(word: &str) -> String {
    let keep = ["ss", "us", "is", "ics", "news"];
    if word.chars().count() <= 3 || keep.iter().any(|end| word.ends_with(end)) {
        return word.to_owned();
    }
    if let Some(stem) = word.strip_suffix("ies") {
        return format!("{stem}y");
    }
    for end in ["ches", "shes", "xes", "sses"] {
        if word.ends_with(end) {
            return word[..word.len() - 2].to_owned();
        }
    }
    word.strip_suffix('s').unwrap_or(word).to_owned()
}

#[cfg(test)]
mod tests {
    use super::{genre, ContentWarning, Mood, Pace};

    #[test]
    fn a_shelf_name_gives_its_genre_folded_as_goodreads_counts_them() {
        for (shelf, expected) in [
            ("Science Fiction", Some("science-fiction")),
            ("science-fiction", Some("science-fiction")),
            ("science_fictions", Some("science-fiction")),
            ("Sci-Fi", Some("sci-fi")),
            ("Mysteries", Some("mystery")),
            ("witches", Some("witch")),
            ("Graphic Novels", Some("graphic-novel")),
            ("Classics", Some("classics")),
            ("Histoire Européenne", Some("histoire-europeenne")),
            ("soviet-history", Some("soviet-history")),
            ("to-read", None),
            ("Owned", None),
            ("owned-books", None),
            ("Kindle", None),
            ("favourites", None),
            ("DNF", None),
            ("read-in-2019", None),
            ("2019", None),
            ("5-stars", None),
            ("!!!", None),
            ("", None),
        ] {
            assert_eq!(genre(shelf).as_deref(), expected, "{shelf:?}");
        }
    }

    #[test]
    fn a_word_reads_back_from_its_spelling_case_and_separators_aside() {
        for mood in Mood::ALL {
            assert_eq!(Mood::from_text(mood.as_str()), Some(*mood));
        }
        assert_eq!(Mood::from_text(" Lighthearted "), Some(Mood::Lighthearted));
        assert_eq!(ContentWarning::from_text("Self harm"), Some(ContentWarning::SelfHarm));
        assert_eq!(ContentWarning::from_text("death_of_parent"), Some(ContentWarning::DeathOfParent));
        assert_eq!(Pace::from_text("FAST"), Some(Pace::Fast));
        assert_eq!((Mood::from_text("grumpy"), Pace::from_text("")), (None, None));
    }
}
