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

/// Where a projection announces the position it has committed.
pub fn projection_position(namespace: &str, model: ReadModel) -> String {
    format!("{namespace}.live.projection.{model}")
}

/// Every projection's announcements at once.
pub fn every_projection_position(namespace: &str) -> String {
    format!("{namespace}.live.projection.*")
}

/// Where `process` answers readiness probes once it serves.
pub fn ready(namespace: &str, process: &str) -> String {
    format!("{namespace}.ready.{process}")
}
