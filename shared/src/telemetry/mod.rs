//! The log every shape writes (SPEC §15): one subscriber, text for a terminal or one JSON object
//! per line (`IMGCLOUD_LOG_FORMAT=json`) for a log pipeline. The level comes from `RUST_LOG`
//! (default `info`).
//!
//! In JSON, the fields of the spans an event happens in are flattened into its line beside the
//! event's own, so every line written while a request is served names its `request_id`, `method`
//! and `route` at the top level (see `http::trace`).

pub mod metrics;

use std::sync::OnceLock;

use serde_json::{Map, Value};
use tracing::{field::Field, Event, Subscriber};
use tracing_subscriber::{
    filter::{filter_fn, FilterExt},
    fmt::{
        self,
        format::{FmtSpan, JsonFields, Writer},
        FmtContext, FormatEvent, FormatFields, FormattedFields,
    },
    layer::{Filter, SubscriberExt},
    registry::LookupSpan,
    util::SubscriberInitExt,
    EnvFilter, Layer,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `message`, `target`, then the fields.
    Json,
}

impl LogFormat {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "text" => Some(Self::Text),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Installs the process's subscriber; call once, before anything is logged.
pub fn init(format: LogFormat) {
    let level = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry();
    match format {
        LogFormat::Text => registry
            .with(fmt::layer().with_filter(level()))
            .with(fmt::layer().with_span_events(FmtSpan::CLOSE).with_filter(store_spans().and(level())))
            .init(),
        LogFormat::Json => registry
            .with(fmt::layer().fmt_fields(JsonFields::new()).event_format(FlatJson).with_filter(level()))
            .with(
                fmt::layer()
                    .with_span_events(FmtSpan::CLOSE)
                    .fmt_fields(JsonFields::new())
                    .event_format(FlatJson)
                    .with_filter(store_spans().and(level())),
            )
            .init(),
    }
    let _ = FORMAT.set(format);
}

/// The store adapters' operation spans (`#[instrument]`, debug level: `RUST_LOG=imgcloud_core::store=debug`),
/// for a second layer that writes one line as each ends, with its backend, operation (the span's
/// name) and latency (`time.busy` + `time.idle`).
fn store_spans<S>() -> impl Filter<S> + Clone {
    filter_fn(|meta| meta.is_span() && meta.target().starts_with("imgcloud_core::store"))
}

/// A line for whoever runs the program (the listening address, a generated password): as is on
/// stdout in text, a log line in JSON, so that a JSON log stays JSON throughout.
pub fn announce(message: &str) {
    match FORMAT.get() {
        Some(LogFormat::Json) => tracing::info!("{message}"),
        _ => println!("{message}"),
    }
}

/// [`announce`] for a failure: stderr in text, an error line in JSON.
pub fn complain(message: &str) {
    match FORMAT.get() {
        Some(LogFormat::Json) => tracing::error!("{message}"),
        _ => eprintln!("{message}"),
    }
}

/// The JSON line: the event's metadata, the fields of its spans from the root down, then its own
/// fields (a field of the event wins over a span's of the same name).
struct FlatJson;

impl<S, N> FormatEvent<S, N> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> std::fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        let now = time::OffsetDateTime::now_utc();
        let timestamp = now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        line.insert("timestamp".into(), timestamp.into());
        line.insert("level".into(), meta.level().as_str().into());
        line.insert("target".into(), meta.target().into());
        if let Some(scope) = ctx.event_scope() {
            // The innermost span's name: a store operation's, or `request`.
            if let Some(leaf) = ctx.event_scope().and_then(|mut scope| scope.next()) {
                line.insert("span".into(), leaf.name().into());
            }
            for span in scope.from_root() {
                // `JsonFields` keeps each span's fields as a JSON object.
                if let Some(fields) = span.extensions().get::<FormattedFields<N>>() {
                    if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&fields.fields) {
                        line.extend(fields);
                    }
                }
            }
        }
        event.record(&mut JsonVisitor(&mut line));
        writeln!(writer, "{}", Value::Object(line))
    }
}

/// An event's fields into the line, numbers and booleans as JSON's.
struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl tracing::field::Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}").into());
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A JSON subscriber writing into the returned buffer, for the tests of what is logged.
    pub(crate) fn capture() -> (impl Subscriber + Send + Sync, Arc<Mutex<Vec<u8>>>) {
        let out = Arc::new(Mutex::new(Vec::new()));
        let writer = {
            let out = out.clone();
            move || Buf(out.clone())
        };
        let subscriber =
            tracing_subscriber::fmt().fmt_fields(JsonFields::new()).event_format(FlatJson).with_writer(writer).finish();
        (subscriber, out)
    }

    /// The captured lines, parsed.
    pub(crate) fn lines(out: &Mutex<Vec<u8>>) -> Vec<Value> {
        let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}"))).collect()
    }

    #[test]
    fn a_json_line_carries_its_spans_fields_at_the_top_level() {
        let (subscriber, out) = capture();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", request_id = "r-1", route = "/x", status = tracing::field::Empty);
            span.record("status", 500u16);
            span.in_scope(|| tracing::error!(error = "disk full", "internal error"));
        });
        let [line] = &lines(&out)[..] else { panic!("one line: {:?}", lines(&out)) };
        assert_eq!(line["message"], "internal error");
        assert_eq!((line["level"].as_str(), line["request_id"].as_str()), (Some("ERROR"), Some("r-1")));
        assert_eq!((line["route"].as_str(), line["status"].as_u64()), (Some("/x"), Some(500)));
        assert_eq!(line["error"], "disk full");
        assert!(line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{line}");
        assert_eq!(LogFormat::parse("json"), Some(LogFormat::Json));
        assert_eq!(LogFormat::parse("JSON"), None);
    }

    #[cfg(feature = "embedded")]
    #[tokio::test]
    async fn a_store_operation_ends_with_a_line_naming_its_backend_operation_and_latency() {
        let out = Arc::new(Mutex::new(Vec::new()));
        let writer = {
            let out = out.clone();
            move || Buf(out.clone())
        };
        let layer = fmt::layer()
            .with_span_events(FmtSpan::CLOSE)
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .with_writer(writer)
            .with_filter(store_spans());
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::fs::FileBlobStore::open(dir.path().join("blobs")).unwrap();
        {
            use tracing::instrument::WithSubscriber;
            let subscriber = tracing_subscriber::registry().with(layer);
            async { crate::store::BlobStore::get(&store, "absent").await.unwrap() }.with_subscriber(subscriber).await;
        }
        let [line] = &lines(&out)[..] else { panic!("one line: {:?}", lines(&out)) };
        assert_eq!((line["backend"].as_str(), line["message"].as_str()), (Some("files"), Some("close")), "{line}");
        assert_eq!(line["span"], "get", "the operation");
        assert!(line["time.busy"].is_string() && line["time.idle"].is_string(), "{line}");
        assert!(line["target"].as_str().is_some_and(|t| t.starts_with("imgcloud_core::store")), "{line}");
    }

    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
