//! What a run tells its user. On a terminal (stderr), a progress bar with the counts, and a line
//! above it for each failure and retry. Otherwise plain lines on stderr: one per failure and retry,
//! a progress line at most every few seconds (and with `--verbose` one per file). Either way the
//! last line, on stdout, is the summary: `imported N, skipped M, failed K`.

use std::{
    io::IsTerminal,
    sync::Mutex,
    time::{Duration, Instant},
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the plain mode says how far it is.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    /// Imported, or exported.
    pub done: u64,
    pub skipped: u64,
    pub failed: u64,
}

/// The end of one file.
pub enum Outcome {
    /// Transferred: what it became (`as <public_id>`, `to <path>`).
    Done(String),
    Skipped(String),
    Failed(String),
    /// Not started: the run stopped first.
    NotAttempted,
}

pub struct Reporter {
    /// `imported` or `exported`.
    verb: &'static str,
    verbose: bool,
    bar: Option<ProgressBar>,
    state: Mutex<State>,
}

struct State {
    counts: Counts,
    total: u64,
    finished: u64,
    last_line: Instant,
}

impl Reporter {
    /// A bar when stderr is a terminal, plain lines otherwise. The bar is a spinner until [`start`].
    ///
    /// [`start`]: Reporter::start
    pub fn new(verb: &'static str, verbose: bool) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{elapsed_precise} [{wide_bar}] {pos}/{len} {msg} {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar.set_message("looking…");
            bar
        });
        let state = State { counts: Counts::default(), total: 0, finished: 0, last_line: Instant::now() };
        Self { verb, verbose, bar, state: Mutex::new(state) }
    }

    /// The files to come: the bar's length.
    pub fn start(&self, total: u64) {
        self.lock().total = total;
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            self.show(&Counts::default());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A line for the user: above the bar, or on stderr.
    pub fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    pub fn record(&self, file: &str, outcome: Outcome) {
        let mut state = self.lock();
        match &outcome {
            Outcome::Done(what) => {
                state.counts.done += 1;
                if self.verbose {
                    self.line(&format!("{}: {file} {what}", self.verb));
                }
            }
            Outcome::Skipped(why) => {
                state.counts.skipped += 1;
                if self.verbose {
                    self.line(&format!("skipped: {file}: {why}"));
                }
            }
            Outcome::Failed(why) => {
                state.counts.failed += 1;
                self.line(&format!("failed: {file}: {why}"));
            }
            Outcome::NotAttempted => {}
        }
        state.finished += 1;
        let counts = state.counts;
        if let Some(bar) = &self.bar {
            bar.set_position(state.finished);
            self.show(&counts);
        } else if !self.verbose && state.last_line.elapsed() >= PLAIN_EVERY && state.finished < state.total {
            state.last_line = Instant::now();
            eprintln!("{} of {} files: {}", state.finished, state.total, self.summary(&counts));
        }
    }

    /// Clears the bar and prints the summary line on stdout.
    pub fn finish(&self) -> Counts {
        let counts = self.lock().counts;
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        println!("{}", self.summary(&counts));
        counts
    }

    fn show(&self, counts: &Counts) {
        if let Some(bar) = &self.bar {
            bar.set_message(self.summary(counts));
        }
    }

    fn summary(&self, counts: &Counts) -> String {
        format!("{} {}, skipped {}, failed {}", self.verb, counts.done, counts.skipped, counts.failed)
    }
}
