//! The one shape of every aggregate's rules: pure, no I/O, tested given/when/then.
//!
//! A command service loads an aggregate's events, folds them into its state, and asks
//! `decide` what a command causes. What the aggregate's own events cannot tell (does the book
//! exist, what day it is) the service looks up first and passes in as `Facts`.

use crate::ContextEvent;

/// An aggregate's state and the rules that change it.
pub trait Decider: Default {
    /// What a client asks of this aggregate.
    type Command;
    /// What the service looked up before deciding; `()` when nothing.
    type Facts;
    /// The events of this aggregate's context.
    type Event: ContextEvent;
    type Error;

    /// The events `command` causes given this state: none when it changes nothing, or why it
    /// is refused.
    fn decide(&self, command: &Self::Command, facts: &Self::Facts) -> Result<Vec<Self::Event>, Self::Error>;

    /// The state after one more event.
    fn evolve(self, event: &Self::Event) -> Self;

    /// The state after these events, from the start.
    fn fold<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self
    where
        Self::Event: 'a,
    {
        events.into_iter().fold(Self::default(), Self::evolve)
    }
}
