//! What every subject shares: the aggregate subject type the event store takes, the subjects
//! of the projections' positions, and the readiness probes'. Each context's own subjects live
//! in its module (`catalog`, `ratings`, `reading`, `reviews`, `social`); no subject is
//! formatted elsewhere.

use std::fmt;

use crate::ReadModel;

/// An aggregate's subject below the namespace's events, e.g. `catalog.book.<id>`: what the
/// event store loads, decides against and appends to. Only the contexts' constructors make one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Aggregate(String);

impl Aggregate {
    pub(crate) fn new(subject: String) -> Self {
        Self(subject)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Aggregate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an aggregate's events are stored: `<ns>.events.<aggregate>`.
pub fn events(namespace: &str, aggregate: &Aggregate) -> String {
    format!("{namespace}.events.{aggregate}")
}

/// Every event of the namespace: what its stream holds and what projections read.
pub fn every_event(namespace: &str) -> String {
    format!("{namespace}.events.>")
}

/// Where a projection announces the position it has committed.
pub fn projection_position(namespace: &str, model: ReadModel) -> String {
    format!("{namespace}.live.projection.{model}")
}

/// Everything published live in the namespace: every projection's announcements and the
/// live updates that come with them, in the order they are published.
pub fn every_live(namespace: &str) -> String {
    format!("{namespace}.live.>")
}

/// Every projection's announcements at once.
pub fn every_projection_position(namespace: &str) -> String {
    format!("{namespace}.live.projection.*")
}

/// Where the projector takes an admin's request to apply its dead letters again; it answers
/// once every projection has tried.
pub fn retry_dead_letters(namespace: &str) -> String {
    format!("{namespace}.admin.dead-letters.retry")
}

/// Where a command service says it has connected to NATS and serves, at its start and each
/// time its connection is made again: a command sent to `service` and not answered may have
/// been lost with the connection, or with the process it replaces, and the gateway sends it
/// again.
pub fn connected(namespace: &str, service: &str) -> String {
    format!("{namespace}.connected.{service}")
}

/// Every command service's [`connected`].
pub fn every_connected(namespace: &str) -> String {
    format!("{namespace}.connected.*")
}

/// Where `process` answers readiness probes once it serves.
pub fn ready(namespace: &str, process: &str) -> String {
    format!("{namespace}.ready.{process}")
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn an_aggregates_events_are_stored_below_the_namespaces_events() {
        let book = crate::catalog::book(Uuid::nil());
        let subject = events("rs", &book);
        assert_eq!(subject, format!("rs.events.catalog.book.{}", Uuid::nil()));
        assert!(subject.starts_with(every_event("rs").trim_end_matches('>')));
        assert_eq!(ready("rs", "ratings"), "rs.ready.ratings");
        assert_eq!(connected("rs", "ratings"), "rs.connected.ratings");
        assert!(every_connected("rs").ends_with(".*"));
    }
}
