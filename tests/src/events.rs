//! One `tracing` subscriber per test binary, shared by every test in it: it records each event
//! (its level, target, message and fields) from every thread, so a test asserts what the
//! servers' workers logged. A binary has one global subscriber, so its tests share this one
//! rather than each installing its own.

use std::collections::BTreeMap;
use std::sync::{Mutex, Once, PoisonError};

/// An event as it was logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its level.
    pub level: tracing::Level,
    /// Its target (the library's is `sealed_session::LOG_TARGET`).
    pub target: String,
    /// Its message.
    pub message: String,
    /// Its other fields: strings as they are, other values as their `Debug`.
    pub fields: BTreeMap<String, String>,
}

impl Event {
    /// The field `name`, if the event has it.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

static EVENTS: Mutex<Vec<Event>> = Mutex::new(Vec::new());

/// Installs the recording subscriber as this binary's global one (once; later calls do
/// nothing). Call it before the code whose events a test reads.
///
/// # Panics
/// If another global subscriber was installed first.
pub fn record() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        use tracing_subscriber::layer::SubscriberExt as _;
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Recorder))
            .expect("the only subscriber of this test binary");
    });
}

/// Every event recorded so far that `keep` keeps, in the order they were logged.
pub fn recorded(keep: impl Fn(&Event) -> bool) -> Vec<Event> {
    EVENTS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|event| keep(event))
        .cloned()
        .collect()
}

struct Recorder;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Recorder {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        #[derive(Default)]
        struct Fields {
            message: String,
            fields: BTreeMap<String, String>,
        }
        impl tracing::field::Visit for Fields {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                self.record(field, value.to_owned());
            }
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.record(field, format!("{value:?}"));
            }
        }
        impl Fields {
            fn record(&mut self, field: &tracing::field::Field, value: String) {
                if field.name() == "message" {
                    self.message = value;
                } else {
                    self.fields.insert(field.name().to_owned(), value);
                }
            }
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let recorded = Event {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            message: fields.message,
            fields: fields.fields,
        };
        EVENTS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(recorded);
    }
}
