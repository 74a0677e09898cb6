//! The given/when/then harness every decider test uses: given these events, when this command
//! (with these facts), then these events, or this refusal.
//!
//! ```ignore
//! given::<Rating>([rated(4, None)]).when(rate(2), ()).then([rated(2, Some(4))]);
//! ```

use std::fmt::Debug;

use readstream_contracts::{Code, Decider, Rejection};

/// The aggregate after these events.
pub fn given<D: Decider>(history: impl IntoIterator<Item = D::Event>) -> Given<D> {
    let history: Vec<D::Event> = history.into_iter().collect();
    Given { state: D::fold(&history) }
}

pub struct Given<D> {
    state: D,
}

impl<D: Decider> Given<D> {
    /// What the decider answers to `command`, with the facts its service looked up.
    pub fn when(self, command: D::Command, facts: D::Facts) -> Then<D> {
        Then { result: self.state.decide(&command, &facts) }
    }

    /// The state the events folded into, for checks of the state itself.
    pub fn state(&self) -> &D {
        &self.state
    }
}

#[must_use = "a decision is checked with then…"]
pub struct Then<D: Decider> {
    result: Result<Vec<D::Event>, D::Error>,
}

impl<D: Decider> Then<D>
where
    D::Event: Debug + PartialEq,
    D::Error: Debug,
{
    /// Accepted, causing exactly these events (none: accepted, changing nothing).
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = D::Event>) {
        let expected: Vec<D::Event> = expected.into_iter().collect();
        match self.result {
            Ok(events) => assert_eq!(events, expected),
            Err(err) => panic!("expected {expected:?}, the command was refused: {err:?}"),
        }
    }

    /// Accepted; the events, for checks `then` cannot make (generated ids, one field).
    #[track_caller]
    pub fn then_events(self) -> Vec<D::Event> {
        match self.result {
            Ok(events) => events,
            Err(err) => panic!("the command was refused: {err:?}"),
        }
    }
}

impl<D: Decider<Error = Rejection>> Then<D>
where
    D::Event: Debug,
{
    /// Refused with this code, naming this argument (or none).
    #[track_caller]
    pub fn then_refused(self, code: Code, field: Option<&str>) {
        match self.result {
            Ok(events) => panic!("expected a refusal {code:?}, the command was accepted: {events:?}"),
            Err(rejection) => assert_eq!((rejection.code, rejection.field), (code, field), "{}", rejection.message),
        }
    }
}
