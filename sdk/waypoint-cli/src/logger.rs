//! A small logger for the `waypoint` binary: the library's `log` records go to standard error,
//! one line each, at the level named by `$WAYPOINT_LOG` (`error`, `warn`, `info`, `debug`,
//! `trace` or `off`; `warn` when unset or unrecognised).

use std::io::Write;

use log::{LevelFilter, Log, Metadata, Record};

/// Writes each record as `level [target] message` to standard error.
struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = record.level().as_str().to_ascii_lowercase();
        // A closed standard error must not stop the command.
        let _ = writeln!(
            std::io::stderr().lock(),
            "{level} [{}] {}",
            record.target(),
            record.args()
        );
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

/// The level named by `value`, or `warn` when it names none.
fn level_from(value: Option<&str>) -> LevelFilter {
    value
        .and_then(|v| v.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::Warn)
}

/// Installs the logger once, at the level from `$WAYPOINT_LOG`. A logger installed before is
/// kept.
pub fn init() {
    static LOGGER: StderrLogger = StderrLogger;
    let level = level_from(std::env::var("WAYPOINT_LOG").ok().as_deref());
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_defaults_to_warn_and_reads_names() {
        assert_eq!(level_from(None), LevelFilter::Warn);
        assert_eq!(level_from(Some("nonsense")), LevelFilter::Warn);
        assert_eq!(level_from(Some("debug")), LevelFilter::Debug);
        assert_eq!(level_from(Some(" OFF ")), LevelFilter::Off);
    }
}
