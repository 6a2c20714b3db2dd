//! Budgets: caps per local calendar day and month on the number of requests sent to providers
//! and on their estimated cost, checked *before* each call.
//!
//! The counters live in `budget.json` in the user data folder, so quitting the DAW does not
//! reset the day. The day and the month roll over by the musician's calendar (their time zone),
//! not UTC. A request counts when it is sent (each retry is a request); its cost is added when
//! the answer says how many tokens it used. A check compares what was spent plus the
//! *estimate* of the next call with the cap, so one call cannot jump far past it. Several
//! requests in flight at once (two plugin windows) can each pass the check; the overshoot is at
//! most their estimates.

use audiocollab_core::lang::Lang;
use audiocollab_core::text::number;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The counter file in the data folder.
pub const BUDGET_FILE: &str = "budget.json";

/// The caps. All apply; the first reached stops the requests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BudgetLimits {
    /// Requests sent per local day.
    pub requests_per_day: u32,
    /// Requests sent per calendar month.
    pub requests_per_month: u32,
    /// Estimated US dollars per local day.
    pub usd_per_day: f64,
    /// Estimated US dollars per calendar month.
    pub usd_per_month: f64,
}

impl Default for BudgetLimits {
    /// 100 requests and $0.50 a day, 1000 requests and $5 a month: a few hours of chat with a
    /// small model every day, and a ceiling that a forgotten loop cannot turn into a bill.
    fn default() -> Self {
        Self { requests_per_day: 100, requests_per_month: 1000, usd_per_day: 0.50, usd_per_month: 5.00 }
    }
}

/// Which cap a request would break. The messages say it in English and French.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BudgetExceeded {
    /// The day's request cap.
    RequestsPerDay {
        /// The cap.
        limit: u32,
    },
    /// The month's request cap.
    RequestsPerMonth {
        /// The cap.
        limit: u32,
    },
    /// The day's cost cap.
    CostPerDay {
        /// The cap, US dollars.
        limit: f64,
        /// Spent today, US dollars.
        spent: f64,
        /// This request's estimate, US dollars.
        estimate: f64,
    },
    /// The month's cost cap.
    CostPerMonth {
        /// The cap, US dollars.
        limit: f64,
        /// Spent this month, US dollars.
        spent: f64,
        /// This request's estimate, US dollars.
        estimate: f64,
    },
}

impl BudgetExceeded {
    /// The note in English.
    pub fn message_en(&self) -> String {
        let tail =
            "The assistant answers offline until then; raise the cap in config.toml ([budget]) if you want more.";
        match *self {
            Self::RequestsPerDay { limit } => {
                format!("Daily limit of {limit} requests to the language model reached (it resets at midnight). {tail}")
            }
            Self::RequestsPerMonth { limit } => format!(
                "Monthly limit of {limit} requests to the language model reached (it resets on the 1st). {tail}"
            ),
            Self::CostPerDay { limit, spent, estimate } => format!(
                "This request (about ${}) would take today's spending past the ${} daily budget (${} spent; it resets at midnight). {tail}",
                usd(estimate, Lang::En),
                usd(limit, Lang::En),
                usd(spent, Lang::En)
            ),
            Self::CostPerMonth { limit, spent, estimate } => format!(
                "This request (about ${}) would take this month's spending past the ${} monthly budget (${} spent; it resets on the 1st). {tail}",
                usd(estimate, Lang::En),
                usd(limit, Lang::En),
                usd(spent, Lang::En)
            ),
        }
    }

    /// The note in French.
    pub fn message_fr(&self) -> String {
        let tail = "L'assistant répond hors ligne d'ici là ; pour aller plus loin, relevez le plafond dans config.toml ([budget]).";
        match *self {
            Self::RequestsPerDay { limit } => format!(
                "Limite quotidienne de {limit} requêtes au modèle de langage atteinte (remise à zéro à minuit). {tail}"
            ),
            Self::RequestsPerMonth { limit } => format!(
                "Limite mensuelle de {limit} requêtes au modèle de langage atteinte (remise à zéro le 1er du mois). {tail}"
            ),
            Self::CostPerDay { limit, spent, estimate } => format!(
                "Cette requête (environ {} $) dépasserait le budget quotidien de {} $ ({} $ déjà dépensés ; remise à zéro à minuit). {tail}",
                usd(estimate, Lang::Fr),
                usd(limit, Lang::Fr),
                usd(spent, Lang::Fr)
            ),
            Self::CostPerMonth { limit, spent, estimate } => format!(
                "Cette requête (environ {} $) dépasserait le budget mensuel de {} $ ({} $ déjà dépensés ; remise à zéro le 1er du mois). {tail}",
                usd(estimate, Lang::Fr),
                usd(limit, Lang::Fr),
                usd(spent, Lang::Fr)
            ),
        }
    }
}

/// Dollars with cents when that is exact, else with four decimals: a request costs fractions
/// of a cent, and a $0.004 cap must not read "$0.00". A decimal comma in French.
fn usd(value: f64, lang: Lang) -> String {
    let cents = value * 100.0;
    let decimals = if (cents - cents.round()).abs() < 1e-9 { 2 } else { 4 };
    number(value, decimals, lang)
}

/// The counters, as stored. Day `YYYY-MM-DD` and month `YYYY-MM` in local time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BudgetState {
    /// The day the day counters are for.
    pub day: String,
    /// Requests sent that day.
    pub day_requests: u32,
    /// Estimated US dollars spent that day.
    pub day_usd: f64,
    /// The month the month counters are for.
    pub month: String,
    /// Requests sent that month.
    pub month_requests: u32,
    /// Estimated US dollars spent that month.
    pub month_usd: f64,
}

impl BudgetState {
    /// Resets the counters of a day or month that is over.
    fn roll_to(&mut self, today: Date) {
        let (day, month) = (today.to_string(), month_of(today));
        if self.month != month {
            self.month = month;
            self.month_requests = 0;
            self.month_usd = 0.0;
        }
        if self.day != day {
            self.day = day;
            self.day_requests = 0;
            self.day_usd = 0.0;
        }
    }

    /// Counters that cannot be trusted (negative or not finite cost, from a hand-edited file)
    /// are treated as a spent budget rather than a free one.
    fn sanitised(mut self) -> Self {
        for usd in [&mut self.day_usd, &mut self.month_usd] {
            if !usd.is_finite() || *usd < 0.0 {
                *usd = f64::MAX;
            }
        }
        self
    }
}

fn month_of(date: Date) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

/// The budget: caps, counters and where they are kept.
#[derive(Debug)]
pub struct Budget {
    limits: BudgetLimits,
    path: Option<PathBuf>,
    state: BudgetState,
}

impl Budget {
    /// Opens the counters at `path` (`None`: in memory only). A missing file starts at zero; an
    /// unreadable or corrupted one too, with a warning to show (the file is rewritten on the
    /// next request).
    pub fn open(limits: BudgetLimits, path: Option<&Path>) -> (Budget, Option<String>) {
        let mut warning = None;
        let state = match path.map(std::fs::read_to_string) {
            None => BudgetState::default(),
            Some(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => BudgetState::default(),
            Some(Ok(text)) => match serde_json::from_str::<BudgetState>(&text) {
                Ok(state) => state.sanitised(),
                Err(e) => {
                    warning = Some(format!("budget counters unreadable ({e}); counting from zero"));
                    BudgetState::default()
                }
            },
            Some(Err(e)) => {
                warning = Some(format!("budget counters unreadable ({e}); counting from zero"));
                BudgetState::default()
            }
        };
        (Budget { limits, path: path.map(Path::to_path_buf), state }, warning)
    }

    /// The caps.
    pub fn limits(&self) -> BudgetLimits {
        self.limits
    }

    /// The counters as of `today` (rolled over if the day or month changed).
    pub fn state(&mut self, today: Date) -> &BudgetState {
        self.state.roll_to(today);
        &self.state
    }

    /// Whether one more request estimated at `estimate_usd` fits every cap.
    pub fn check(&mut self, today: Date, estimate_usd: f64) -> Result<(), BudgetExceeded> {
        self.state.roll_to(today);
        let (s, l) = (&self.state, self.limits);
        let estimate = if estimate_usd.is_finite() { estimate_usd.max(0.0) } else { f64::MAX };
        if s.day_requests >= l.requests_per_day {
            return Err(BudgetExceeded::RequestsPerDay { limit: l.requests_per_day });
        }
        if s.month_requests >= l.requests_per_month {
            return Err(BudgetExceeded::RequestsPerMonth { limit: l.requests_per_month });
        }
        if s.day_usd + estimate > l.usd_per_day {
            return Err(BudgetExceeded::CostPerDay { limit: l.usd_per_day, spent: s.day_usd, estimate });
        }
        if s.month_usd + estimate > l.usd_per_month {
            return Err(BudgetExceeded::CostPerMonth { limit: l.usd_per_month, spent: s.month_usd, estimate });
        }
        Ok(())
    }

    /// Counts one request sent, and saves.
    pub fn record_request(&mut self, today: Date) -> std::io::Result<()> {
        self.state.roll_to(today);
        self.state.day_requests = self.state.day_requests.saturating_add(1);
        self.state.month_requests = self.state.month_requests.saturating_add(1);
        self.save()
    }

    /// Adds what an answer cost, and saves.
    pub fn record_cost(&mut self, today: Date, usd: f64) -> std::io::Result<()> {
        if !(usd.is_finite() && usd > 0.0) {
            return Ok(());
        }
        self.state.roll_to(today);
        self.state.day_usd += usd;
        self.state.month_usd += usd;
        self.save()
    }

    fn save(&self) -> std::io::Result<()> {
        let Some(path) = &self.path else { return Ok(()) };
        // INVARIANT: a struct of strings and numbers always serialises; an f64::MAX is a number.
        let text = serde_json::to_string_pretty(&self.state).unwrap_or_default();
        super::write_private(path, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn limits() -> BudgetLimits {
        BudgetLimits { requests_per_day: 3, requests_per_month: 5, usd_per_day: 0.10, usd_per_month: 0.25 }
    }

    #[test]
    fn request_caps_hold_per_day_and_per_month_and_roll_over_by_the_calendar() {
        let (mut b, warning) = Budget::open(limits(), None);
        assert!(warning.is_none());
        let d1 = date(2026, 1, 30);
        for _ in 0..3 {
            b.check(d1, 0.0).unwrap();
            b.record_request(d1).unwrap();
        }
        assert_eq!(b.check(d1, 0.0), Err(BudgetExceeded::RequestsPerDay { limit: 3 }));
        let d2 = date(2026, 1, 31);
        for _ in 0..2 {
            b.check(d2, 0.0).unwrap();
            b.record_request(d2).unwrap();
        }
        // Day 2 has used 2 of 3, but the month has used 5 of 5.
        assert_eq!(b.check(d2, 0.0), Err(BudgetExceeded::RequestsPerMonth { limit: 5 }));
        // February: both reset.
        let d3 = date(2026, 2, 1);
        assert_eq!(b.check(d3, 0.0), Ok(()));
        assert_eq!(b.state(d3).month, "2026-02");
        assert_eq!(b.state(d3).month_requests, 0);
    }

    #[test]
    fn cost_caps_include_the_estimate_of_the_next_call() {
        let (mut b, _) = Budget::open(limits(), None);
        let d = date(2026, 5, 4);
        b.record_cost(d, 0.07).unwrap();
        assert_eq!(b.check(d, 0.03), Ok(()), "0.07 + 0.03 = 0.10 is within a 0.10 cap");
        match b.check(d, 0.031) {
            Err(BudgetExceeded::CostPerDay { limit, spent, estimate }) => {
                assert_eq!((limit, spent, estimate), (0.10, 0.07, 0.031));
            }
            other => panic!("{other:?}"),
        }
        // The next day: the day is free again but the month carries 0.07 of 0.25.
        let next = date(2026, 5, 5);
        b.record_cost(next, 0.09).unwrap();
        b.record_cost(next.tomorrow().unwrap(), 0.05).unwrap();
        assert!(matches!(b.check(date(2026, 5, 7), 0.05), Err(BudgetExceeded::CostPerMonth { .. })));
        assert_eq!(b.check(date(2026, 5, 7), 0.04), Ok(()));
        // A NaN estimate is never "free".
        assert!(b.check(date(2026, 5, 7), f64::NAN).is_err());
    }

    #[test]
    fn counters_survive_a_restart_and_a_corrupted_file_is_a_warning() {
        let dir = super::super::test_dir("budget");
        let path = dir.join(BUDGET_FILE);
        let d = date(2026, 7, 14);
        {
            let (mut b, _) = Budget::open(limits(), Some(&path));
            b.record_request(d).unwrap();
            b.record_request(d).unwrap();
            b.record_cost(d, 0.02).unwrap();
        }
        let (mut b, warning) = Budget::open(limits(), Some(&path));
        assert!(warning.is_none());
        let s = b.state(d).clone();
        assert_eq!((s.day_requests, s.month_requests), (2, 2));
        assert!((s.day_usd - 0.02).abs() < 1e-12);
        b.record_request(d).unwrap();
        assert_eq!(b.check(d, 0.0), Err(BudgetExceeded::RequestsPerDay { limit: 3 }));

        std::fs::write(&path, "{ not json").unwrap();
        let (mut b, warning) = Budget::open(limits(), Some(&path));
        assert!(warning.unwrap().contains("counting from zero"));
        assert_eq!(b.check(d, 0.0), Ok(()));

        // A hand-edited negative spending does not buy credit.
        std::fs::write(&path, r#"{"day":"2026-07-14","day_requests":0,"day_usd":-5.0,"month":"2026-07","month_requests":0,"month_usd":0.0}"#).unwrap();
        let (mut b, _) = Budget::open(limits(), Some(&path));
        assert!(matches!(b.check(d, 0.0), Err(BudgetExceeded::CostPerDay { .. })));
    }

    #[test]
    fn messages_name_the_cap_in_both_languages() {
        let e = BudgetExceeded::CostPerDay { limit: 0.5, spent: 0.4981, estimate: 0.0032 };
        assert!(e.message_en().contains("$0.50 daily budget"), "{}", e.message_en());
        assert!(e.message_fr().contains("budget quotidien de 0,50 $"), "{}", e.message_fr());
        assert!(e.message_fr().contains("0,4981 $ déjà dépensés"), "{}", e.message_fr());
        assert!(e.message_en().contains("(about $0.0032)"), "{}", e.message_en());
        let e = BudgetExceeded::RequestsPerMonth { limit: 1000 };
        assert!(e.message_en().contains("Monthly limit of 1000 requests"));
        assert!(e.message_fr().contains("Limite mensuelle de 1000 requêtes"));
    }
}
