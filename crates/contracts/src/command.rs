//! Commands bound to their services by type: each command message names the one service that
//! answers it and its own name, so the gateway cannot send it elsewhere and a service cannot
//! route a command of another.
//!
//! A command travels as a NATS request on `<ns>.cmd.<service>.<name>`; any replica of the
//! service (one queue group) answers with a `Reply`.

/// A command service, as a type.
pub trait Service: Send + Sync + 'static {
    /// The name it answers under: its subjects' token and its readiness probe's.
    const NAME: &'static str;
}

/// One command message.
pub trait Command: prost::Message + Default + Send + Sync + 'static {
    /// The service that answers it.
    type Service: Service;
    /// Its subject's last token.
    const NAME: &'static str;

    /// Takes the metadata the sender attached (every command message has it).
    fn take_meta(&mut self) -> Option<crate::proto::commands::v1::CommandMeta>;
}

/// Where a command is sent.
pub fn subject<C: Command>(namespace: &str) -> String {
    format!("{namespace}.cmd.{}.{}", C::Service::NAME, C::NAME)
}

/// Every command of a service, what its replicas subscribe to.
pub fn every_command<S: Service>(namespace: &str) -> String {
    every_command_of(namespace, S::NAME)
}

/// Every command of the service named `service` (for tools and tests that stand in for one).
pub fn every_command_of(namespace: &str, service: &str) -> String {
    format!("{namespace}.cmd.{service}.*")
}

/// Binds command messages to a service and their names.
macro_rules! commands {
    ($service:ty { $($command:ident => $name:literal),+ $(,)? }) => {
        $(impl $crate::command::Command for $crate::proto::commands::v1::$command {
            type Service = $service;
            const NAME: &'static str = $name;

            fn take_meta(&mut self) -> Option<$crate::proto::commands::v1::CommandMeta> {
                self.meta.take()
            }
        })+
    };
}
pub(crate) use commands;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{proto::commands::v1 as pb, ratings::RatingsService, reading::ReadingService};

    #[test]
    fn a_command_is_sent_on_its_services_subject_under_its_name() {
        assert_eq!(subject::<pb::RateBook>("rs"), "rs.cmd.ratings.rate_book");
        assert_eq!(subject::<pb::RemoveFromShelf>("rs"), "rs.cmd.reading.remove_from_shelf");
        assert_eq!(every_command::<RatingsService>("rs"), "rs.cmd.ratings.*");
        assert_eq!(every_command::<ReadingService>("rs"), every_command_of("rs", "reading"));
    }
}
