//! The text log line, written by hand: `{timestamp} {LEVEL} {target}: {message} {field}={value}…`,
//! the same text as tracing-subscriber's default (`Full`) format without colours.
//!
//! Every request logs one access line, and the default format took about 9 k instructions
//! for it (its field visitor and colour wrappers run even with colours off); this one about
//! a fifth of that. JSON logs (`SCIMD_LOG_FORMAT=json`) and a terminal's coloured lines keep
//! tracing-subscriber's formats.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The event format; pass to `tracing_subscriber::fmt().event_format(..)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LineFormat;

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let now = chrono::Utc::now();
        match crate::timestamp::digits(now) {
            Some(digits) => writer.write_str(crate::timestamp::as_str(&digits))?,
            None => writer.write_str(&crate::store::filter_sql::format_timestamp(now))?,
        }
        let meta = event.metadata();
        writer.write_str(match *meta.level() {
            Level::TRACE => " TRACE ",
            Level::DEBUG => " DEBUG ",
            Level::INFO => "  INFO ",
            Level::WARN => "  WARN ",
            Level::ERROR => " ERROR ",
        })?;
        if let Some(scope) = ctx.event_scope() {
            let mut seen = false;
            for span in scope.from_root() {
                writer.write_str(span.metadata().name())?;
                let ext = span.extensions();
                if let Some(fields) = ext.get::<tracing_subscriber::fmt::FormattedFields<N>>() {
                    if !fields.is_empty() {
                        write!(writer, "{{{fields}}}")?;
                    }
                }
                writer.write_char(':')?;
                seen = true;
            }
            if seen {
                writer.write_char(' ')?;
            }
        }
        writer.write_str(meta.target())?;
        writer.write_str(": ")?;
        let mut fields = Fields {
            writer: &mut writer,
            first: true,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_char('\n')
    }
}

/// Writes an event's fields as the default format does: the message as is, every other
/// field as `name=value` (Debug), separated by spaces.
struct Fields<'a, 'w> {
    writer: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl Fields<'_, '_> {
    fn write(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            if !std::mem::take(&mut self.first) {
                self.writer.write_char(' ')?;
            }
            if field.name() != "message" {
                // tracing's macros name a raw identifier's field without its `r#` (the
                // test's `r#type`): no trimming (`trim_start_matches` built a substring
                // searcher for every field of every access line).
                self.writer.write_str(field.name())?;
                self.writer.write_char('=')?;
            }
            value(self.writer)
        })();
    }
}

impl Visit for Fields<'_, '_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.write(field, |w| w.write_str(itoa::Buffer::new().format(value)));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.write(field, |w| w.write_str(itoa::Buffer::new().format(value)));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.write(field, |w| w.write_str(if value { "true" } else { "false" }));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field, |w| write!(w, "{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log_writer::captured::Captured;

    /// The events every formatter is shown: the access line's kinds of fields, a quoted
    /// string, a message with arguments, other levels, an event inside a span.
    fn emit() {
        let id = "0123456789abcdef0123456789abcdef";
        tracing::info!(request_id = %id, method = %"GET", path = %"/scim/v2/t/Users", status = 200u16, elapsed_us = 1234u64, "request");
        tracing::warn!(
            error = "quoted \"text\"",
            count = -3i64,
            ok = true,
            r#type = "raw identifier",
            "odd {} here",
            42
        );
        tracing::error!(ratio = 0.5f64, "failed");
        let span = tracing::info_span!("job", tenant = "t1");
        let _entered = span.enter();
        tracing::info!("in a span");
    }

    fn lines_of(text: &str) -> Vec<String> {
        // Without the timestamp, checked apart.
        text.lines()
            .map(|l| l[crate::timestamp::LEN..].to_string())
            .collect()
    }

    #[test]
    fn lines_are_the_default_format_without_colours() {
        let ours = Captured::default();
        let writer = ours.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(Level::TRACE)
            .event_format(LineFormat)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
        let default = Captured::default();
        let writer = default.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, emit);

        let (ours, default) = (ours.text(), default.text());
        assert_eq!(
            lines_of(&ours),
            lines_of(&default),
            "ours:\n{ours}\ndefault:\n{default}"
        );
        assert_eq!(ours.lines().count(), 4, "{ours}");
        assert!(ours.contains(" type=\"raw identifier\"\n"), "{ours}");
        assert!(
            ours.lines().next().unwrap().ends_with("  INFO scimd::log_format::tests: request request_id=0123456789abcdef0123456789abcdef method=GET path=/scim/v2/t/Users status=200 elapsed_us=1234"),
            "{ours}"
        );
        for line in ours.lines() {
            let stamp = &line[..crate::timestamp::LEN];
            assert!(
                chrono::DateTime::parse_from_rfc3339(stamp).is_ok() && stamp.ends_with('Z'),
                "{line}"
            );
        }
    }
}
