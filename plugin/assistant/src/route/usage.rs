//! What the plugin's settings view shows about the assistant's use: today's and this month's
//! counters against the budget caps, and the audit log's last days with a row per model.
//!
//! Both read files (the budget counters, the audit log): call them when the view opens or on
//! "Refresh", never every frame. Neither writes anything.

use super::audit::{self, AuditEvent, AuditOutcome, Summary};
use super::budget::{Budget, BudgetLimits, BudgetState};
use super::Paths;
use jiff::civil::Date;
use jiff::Timestamp;
use std::collections::BTreeMap;

/// The budget counters as of a day, with the caps they count against.
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetUsage {
    /// The counters (rolled to the day: a new day or month starts at zero).
    pub state: BudgetState,
    /// The caps in force.
    pub limits: BudgetLimits,
    /// The counter file could not be read (it counts from zero until the next request).
    pub warning: Option<String>,
}

/// Reads the budget counters under `paths` as of `today` (the local calendar day).
pub fn budget_usage(paths: &Paths, limits: BudgetLimits, today: Date) -> BudgetUsage {
    let (mut budget, warning) = Budget::open(limits, Some(&paths.budget_file()));
    BudgetUsage { state: budget.state(today).clone(), limits, warning }
}

/// One model's share of the audit window.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelRow {
    /// `"gpt-4o-mini (openai)"`, or `"embedded engine"` for the answers given offline.
    pub model: String,
    /// Requests it answered (or, cancelled, was asked).
    pub requests: usize,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
    /// Estimated US dollars.
    pub usd: f64,
    /// Mean latency of its answers over the network (not from the cache), milliseconds.
    pub mean_latency_ms: Option<f64>,
}

/// The audit view: the summary `audiocollab audit` prints, the mean latency, and a row per
/// model (most requests first).
#[derive(Clone, Debug, PartialEq)]
pub struct AuditView {
    /// Requests, tokens, cost, applied / undone, thumbs.
    pub summary: Summary,
    /// Mean latency of the answers a model gave over the network, milliseconds.
    pub mean_latency_ms: Option<f64>,
    /// Per model.
    pub models: Vec<ModelRow>,
}

/// The view of `events` in the `days` before `now`.
pub fn audit_view(events: &[AuditEvent], skipped_lines: usize, now: Timestamp, days: u32) -> AuditView {
    let summary = audit::summarise(events, skipped_lines, now, Some(days));
    let cutoff = now.as_millisecond().saturating_sub(i64::from(days) * 86_400_000);
    let mut rows: BTreeMap<String, (ModelRow, u64, u64)> = BTreeMap::new();
    let (mut latency_sum, mut latency_n) = (0u64, 0u64);
    for event in events {
        let AuditEvent::Request(r) = event else { continue };
        let Ok(t) = r.time.parse::<Timestamp>() else { continue };
        if t.as_millisecond() < cutoff {
            continue;
        }
        let model = match (r.outcome, &r.model) {
            (AuditOutcome::Model | AuditOutcome::Cancelled, Some(m)) => format!("{m} ({})", r.provider),
            _ => "embedded engine".to_string(),
        };
        let (row, sum, n) = rows.entry(model.clone()).or_insert_with(|| {
            let row =
                ModelRow { model, requests: 0, input_tokens: 0, output_tokens: 0, usd: 0.0, mean_latency_ms: None };
            (row, 0, 0)
        });
        row.requests += 1;
        row.input_tokens += u64::from(r.input_tokens);
        row.output_tokens += u64::from(r.output_tokens);
        row.usd += if r.usd.is_finite() && r.usd > 0.0 { r.usd } else { 0.0 };
        if r.outcome == AuditOutcome::Model && !r.cache_hit {
            *sum += r.latency_ms;
            *n += 1;
            latency_sum += r.latency_ms;
            latency_n += 1;
        }
    }
    let mean = |sum: u64, n: u64| (n > 0).then(|| sum as f64 / n as f64);
    let mut models: Vec<ModelRow> = rows
        .into_values()
        .map(|(mut row, sum, n)| {
            row.mean_latency_ms = mean(sum, n);
            row
        })
        .collect();
    models.sort_by(|a, b| b.requests.cmp(&a.requests).then_with(|| a.model.cmp(&b.model)));
    AuditView { summary, mean_latency_ms: mean(latency_sum, latency_n), models }
}

/// Reads the audit log under `paths` and makes the view of its last `days` before `now`.
pub fn read_audit(paths: &Paths, now: Timestamp, days: u32) -> Result<AuditView, String> {
    let path = paths.audit_file();
    let log = audit::read_log(&path).map_err(|e| format!("cannot read the audit log {}: {e}", path.display()))?;
    Ok(audit_view(&log.events, log.skipped, now, days))
}

#[cfg(test)]
mod tests {
    use super::super::super::llm::{ProviderKind, Task, Tier};
    use super::super::audit::RequestRecord;
    use super::*;

    fn request(id: &str, time: &str, model: Option<&str>, outcome: AuditOutcome, cache_hit: bool) -> AuditEvent {
        AuditEvent::Request(RequestRecord {
            id: id.into(),
            time: time.into(),
            task: Task::Chat,
            tier: model.map(|_| Tier::Balanced),
            provider: if model.is_some() { ProviderKind::Openai } else { ProviderKind::Embedded },
            model: model.map(String::from),
            input_tokens: if outcome == AuditOutcome::Model && !cache_hit { 1000 } else { 0 },
            output_tokens: if outcome == AuditOutcome::Model && !cache_hit { 200 } else { 0 },
            usd: if outcome == AuditOutcome::Model && !cache_hit { 0.0003 } else { 0.0 },
            latency_ms: if cache_hit { 2 } else { 1500 + 500 * id.len() as u64 },
            cache_checked: true,
            cache_hit,
            outcome,
            fallback: None,
            attempts: u32::from(!cache_hit && model.is_some()),
            errors: 0,
            request_chars: 4000,
        })
    }

    #[test]
    fn the_view_counts_the_window_per_model_with_mean_latency() {
        let now: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
        let events = vec![
            request("a", "2026-09-01T10:00:00.000+01:00", Some("gpt-4o"), AuditOutcome::Model, false), // too old
            request("b", "2026-11-20T10:00:00.000+01:00", Some("gpt-4o-mini"), AuditOutcome::Model, false),
            request("cc", "2026-11-21T10:00:00.000+01:00", Some("gpt-4o-mini"), AuditOutcome::Model, false),
            request("d", "2026-11-22T10:00:00.000+01:00", Some("gpt-4o-mini"), AuditOutcome::Model, true),
            request("e", "2026-11-23T10:00:00.000+01:00", None, AuditOutcome::Embedded, false),
            AuditEvent::Applied { id: "b".into(), time: "2026-11-20T10:01:00.000+01:00".into() },
            AuditEvent::Undone { id: "b".into(), time: "2026-11-20T10:02:00.000+01:00".into() },
            AuditEvent::Feedback { id: "cc".into(), time: "2026-11-21T10:01:00.000+01:00".into(), up: true },
        ];
        let v = audit_view(&events, 1, now, 30);
        assert_eq!(v.summary.requests, 4);
        assert_eq!((v.summary.input_tokens, v.summary.output_tokens), (2000, 400));
        assert!((v.summary.usd - 0.0006).abs() < 1e-12);
        assert_eq!((v.summary.applied, v.summary.undone, v.summary.thumbs_up, v.summary.thumbs_down), (1, 1, 1, 0));
        assert_eq!(v.summary.skipped_lines, 1);
        // Network answers only: 2000 ms and 2500 ms; the cache hit does not count.
        assert_eq!(v.mean_latency_ms, Some(2250.0));
        assert_eq!(v.models.len(), 2);
        let mini = &v.models[0];
        assert_eq!((mini.model.as_str(), mini.requests), ("gpt-4o-mini (openai)", 3));
        assert_eq!((mini.input_tokens, mini.output_tokens, mini.mean_latency_ms), (2000, 400, Some(2250.0)));
        assert_eq!((v.models[1].model.as_str(), v.models[1].requests), ("embedded engine", 1));
        assert_eq!(v.models[1].mean_latency_ms, None);
    }

    #[test]
    fn budget_usage_reads_the_counters_and_rolls_to_today() {
        let dir = super::super::test_dir("usage-budget");
        let paths = Paths::under(&dir);
        let limits = BudgetLimits::default();
        let fresh = budget_usage(&paths, limits, jiff::civil::date(2026, 11, 24));
        assert_eq!((fresh.state.day_requests, fresh.state.month_requests, fresh.warning), (0, 0, None));
        std::fs::create_dir_all(&paths.data).unwrap();
        std::fs::write(
            paths.budget_file(),
            r#"{"day":"2026-11-23","day_requests":4,"day_usd":0.012,"month":"2026-11","month_requests":9,"month_usd":0.05}"#,
        )
        .unwrap();
        let u = budget_usage(&paths, limits, jiff::civil::date(2026, 11, 24));
        assert_eq!((u.state.day.as_str(), u.state.day_requests, u.state.month_requests), ("2026-11-24", 0, 9));
        assert!((u.state.month_usd - 0.05).abs() < 1e-12 && u.state.day_usd == 0.0);
        assert_eq!(u.limits, limits);
        let before = std::fs::read_to_string(paths.budget_file()).unwrap();
        assert!(before.contains("2026-11-23"), "reading never writes");
    }
}
