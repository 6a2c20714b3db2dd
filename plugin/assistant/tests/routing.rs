//! The router end to end, with a scripted provider and a manual clock: which model answers,
//! what is waited, what is counted, cached and logged, and the note the musician sees when
//! the embedded engine answers instead. Files go to a fresh temporary folder per test.
//!
//! The scripted provider stands in for the HTTP clients (tested against real local servers in
//! their own tests): this file tests the policy around them.

use audiocollab_assistant::llm::{
    Completion, Message, ModelRef, ProviderError, ProviderKind, Request, Role, Task, Tier, Usage,
};
use audiocollab_assistant::provider::DeltaSink;
use audiocollab_assistant::route::audit::{self, read_log, AuditEvent, AuditOutcome, AuditQuery, RequestRecord};
use audiocollab_assistant::route::clock::{CancelToken, Clock, ManualClock, SystemClock};
use audiocollab_assistant::route::config::{ApiKey, Config};
use audiocollab_assistant::route::prices::Prices;
use audiocollab_assistant::route::router::{Complete, Outcome, RouteOptions, Routed, Router, Streamed};
use audiocollab_assistant::route::Paths;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::collections::VecDeque;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET_KEY: &str = "sk-test-do-not-log-4242";
const USER_WORDS: &str = "Le refrain de Camille est trop brillant à 1:45, on peut adoucir les aigus ?";

/// One scripted reply: what the provider says, after how long (on the test's clock).
enum Step {
    Reply(Result<Completion, ProviderError>, Duration),
    /// Streams some text, then fails.
    Broken(&'static str, ProviderError),
    /// Never answers.
    Stall,
}

/// A provider that plays a script and records who was called.
#[derive(Clone)]
struct Script {
    steps: Arc<Mutex<VecDeque<Step>>>,
    calls: Arc<Mutex<Vec<String>>>,
    clock: ManualClock,
}

impl Script {
    fn new(clock: &ManualClock, steps: Vec<Step>) -> Self {
        Self { steps: Arc::new(Mutex::new(steps.into())), calls: Arc::default(), clock: clock.clone() }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl Complete for Script {
    fn complete(
        &self,
        model: &ModelRef,
        _: Option<&ApiKey>,
        _: &Request,
        on_delta: Option<DeltaSink<'_>>,
        _: &CancelToken,
    ) -> impl Future<Output = Result<Completion, ProviderError>> + Send {
        self.calls.lock().unwrap().push(model.model.clone());
        let step = self.steps.lock().unwrap().pop_front().expect("the script ran out: an unexpected call");
        let clock = self.clock.clone();
        async move {
            match step {
                Step::Reply(result, latency) => {
                    clock.advance(latency);
                    // Streamed in two pieces when asked.
                    if let (Some(sink), Ok(c)) = (on_delta, &result) {
                        let cut = c.text.char_indices().nth(c.text.chars().count() / 2).map_or(0, |(i, _)| i);
                        sink(&c.text[..cut]);
                        sink(&c.text[cut..]);
                    }
                    result
                }
                Step::Broken(text, error) => {
                    if let Some(sink) = on_delta {
                        sink(text);
                    }
                    Err(error)
                }
                Step::Stall => std::future::pending().await,
            }
        }
    }
}

fn ok(text: &str, input: u32, output: u32) -> Step {
    Step::Reply(
        Ok(Completion {
            text: text.into(),
            usage: Usage { input_tokens: input, output_tokens: output },
            model: "m".into(),
        }),
        Duration::from_millis(800),
    )
}

fn err(error: ProviderError) -> Step {
    Step::Reply(Err(error), Duration::from_millis(100))
}

fn model(provider: ProviderKind, name: &str) -> ModelRef {
    let base_url = (provider == ProviderKind::OpenaiCompatible).then(|| "http://127.0.0.1:8080/v1".to_string());
    ModelRef { provider, model: name.into(), base_url }
}

/// Premium = gpt-4o, balanced = gpt-4o-mini, cheap = a local model; an OpenAI key.
fn three_tiers() -> Config {
    let mut c = Config::default();
    c.tiers.insert(Tier::Premium, model(ProviderKind::Openai, "gpt-4o"));
    c.tiers.insert(Tier::Balanced, model(ProviderKind::Openai, "gpt-4o-mini"));
    c.tiers.insert(Tier::Cheap, model(ProviderKind::OpenaiCompatible, "qwen2.5-0.5b-instruct"));
    c.keys.openai = ApiKey::new(SECRET_KEY).ok();
    c
}

fn request(task: Task, words: &str) -> Request {
    Request {
        task,
        system: "You are a mixing assistant. Answer with JSON.".into(),
        messages: vec![Message {
            role: Role::User,
            content: format!("Measured: -14.23 LUFS, mud +3.1 dB at 250 Hz. {words}"),
        }],
        schema: Some(serde_json::json!({"type": "object"})),
        max_tokens: 500,
        temperature: 0.0,
    }
}

/// The assistant's three folders under a fresh temporary folder, removed when dropped.
struct TempPaths {
    root: PathBuf,
    paths: Paths,
}

impl std::ops::Deref for TempPaths {
    type Target = Paths;
    fn deref(&self) -> &Paths {
        &self.paths
    }
}

impl Drop for TempPaths {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn temp_paths(name: &str) -> TempPaths {
    let root = std::env::temp_dir().join(format!("audiocollab-routing-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    TempPaths { paths: Paths::under(&root), root }
}

fn clock() -> ManualClock {
    ManualClock::new("2026-11-23T21:00:00Z".parse::<Timestamp>().unwrap(), TimeZone::fixed(jiff::tz::offset(1)))
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(future)
}

fn router(config: Config, paths: &Paths, script: &Script, clock: &ManualClock) -> Router<Script, ManualClock> {
    Router::new(config, Prices::shipped(), paths, script.clone(), clock.clone()).with_seed(7)
}

fn records(paths: &Paths) -> Vec<RequestRecord> {
    let log = read_log(&paths.audit_file()).unwrap();
    assert_eq!(log.skipped, 0);
    log.events
        .into_iter()
        .filter_map(|e| match e {
            AuditEvent::Request(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn note_code(routed: &Routed) -> Option<&'static str> {
    match &routed.outcome {
        Outcome::Model { note, .. } | Outcome::Embedded { note } => note.as_ref().map(|n| n.code),
        Outcome::Cancelled => None,
    }
}

#[test]
fn no_config_means_the_embedded_engine_and_no_call() {
    let (paths, clock) = (temp_paths("offline"), clock());
    let script = Script::new(&clock, vec![]);
    let r = router(Config::default(), &paths, &script, &clock);
    let routed = block_on(r.route(&request(Task::Chat, USER_WORDS), &CancelToken::new()));
    assert_eq!(routed.outcome, Outcome::Embedded { note: None });
    assert!(script.calls().is_empty());
    let log = records(&paths);
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].provider, log[0].outcome, log[0].attempts, log[0].fallback.clone()),
        (ProviderKind::Embedded, AuditOutcome::Embedded, 0, None)
    );
}

#[test]
fn an_answer_is_counted_cached_and_logged_without_key_or_words() {
    let (paths, clock) = (temp_paths("answer"), clock());
    let script = Script::new(&clock, vec![ok("{\"message\":\"ok\",\"changes\":[]}", 1200, 300)]);
    let r = router(three_tiers(), &paths, &script, &clock);
    let cancel = CancelToken::new();

    let first = block_on(r.route(&request(Task::Chat, USER_WORDS), &cancel));
    let Outcome::Model { completion, model, tier, cached, note } = &first.outcome else { panic!("{first:?}") };
    assert_eq!((model.model.as_str(), *tier, *cached, note), ("gpt-4o-mini", Tier::Balanced, false, &None));
    assert_eq!(completion.usage, Usage { input_tokens: 1200, output_tokens: 300 });

    // The same request with different spacing and a value within 0.1 dB: the cache answers.
    let again = request(Task::Chat, USER_WORDS).messages[0].content.replace("+3.1 dB", "+3.12 dB").replace(' ', "  ");
    let mut same = request(Task::Chat, USER_WORDS);
    same.messages[0].content = again;
    let second = block_on(r.route(&same, &cancel));
    assert!(matches!(second.outcome, Outcome::Model { cached: true, .. }), "{second:?}");
    assert_eq!(script.calls(), vec!["gpt-4o-mini"], "one call for two requests");

    let log = records(&paths);
    assert_eq!(log.len(), 2);
    let a = &log[0];
    assert_eq!(
        (a.task, a.tier, a.provider, a.model.as_deref()),
        (Task::Chat, Some(Tier::Balanced), ProviderKind::Openai, Some("gpt-4o-mini"))
    );
    assert_eq!((a.input_tokens, a.output_tokens, a.attempts, a.errors, a.cache_hit), (1200, 300, 1, 0, false));
    // gpt-4o-mini: $0.15 in, $0.60 out per million tokens.
    assert!((a.usd - (1200.0 * 0.15 + 300.0 * 0.60) / 1e6).abs() < 1e-12, "{}", a.usd);
    assert_eq!(a.latency_ms, 800);
    assert_eq!(a.time, "2026-11-23T22:00:00.000+01:00", "local time with its offset");
    assert_eq!(a.request_chars as usize, {
        let q = request(Task::Chat, USER_WORDS);
        q.system.chars().count() + q.messages[0].content.chars().count() + q.schema.unwrap().to_string().len()
    });
    assert_eq!((log[1].cache_hit, log[1].usd, log[1].attempts), (true, 0.0, 0));

    let text = std::fs::read_to_string(paths.audit_file()).unwrap();
    assert!(!text.contains(SECRET_KEY) && !text.contains("Camille") && !text.contains("LUFS"), "{text}");

    // Applied, then undone: appended events naming the request.
    r.mark(&first.id, true).unwrap();
    r.mark(&first.id, false).unwrap();
    let events = read_log(&paths.audit_file()).unwrap().events;
    assert!(matches!(&events[2], AuditEvent::Applied { id, .. } if *id == first.id));
    assert!(matches!(&events[3], AuditEvent::Undone { id, .. } if *id == first.id));
}

#[test]
fn a_rate_limit_waits_the_retry_after_once_then_the_cheaper_tier_answers() {
    let (paths, clock) = (temp_paths("429"), clock());
    let limited = || err(ProviderError::RateLimited { retry_after: Some(Duration::from_secs(2)) });
    let script = Script::new(&clock, vec![limited(), limited(), ok("{}", 100, 10)]);
    let r = router(three_tiers(), &paths, &script, &clock);
    let routed = block_on(r.route(&request(Task::AutoMix, "fais un premier mix"), &CancelToken::new()));
    let Outcome::Model { model, tier, note, .. } = &routed.outcome else { panic!("{routed:?}") };
    assert_eq!((model.model.as_str(), *tier), ("gpt-4o-mini", Tier::Balanced));
    let note = note.as_ref().unwrap();
    assert_eq!(note.code, "cheaper_tier");
    assert!(note.en.contains("gpt-4o is limiting requests (HTTP 429); gpt-4o-mini answered instead"), "{}", note.en);
    assert!(
        note.fr.contains("gpt-4o limite les requêtes (HTTP 429) ; gpt-4o-mini a répondu à la place"),
        "{}",
        note.fr
    );
    assert_eq!(script.calls(), vec!["gpt-4o", "gpt-4o", "gpt-4o-mini"]);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(2)], "the Retry-After, once");
    let log = records(&paths);
    assert_eq!((log[0].attempts, log[0].errors, log[0].fallback.as_deref()), (3, 2, Some("cheaper_tier")));
}

#[test]
fn a_retry_after_beyond_the_cap_goes_cheaper_at_once_and_the_last_tier_falls_back_to_embedded() {
    let (paths, clock) = (temp_paths("429-cap"), clock());
    let long = || err(ProviderError::RateLimited { retry_after: Some(Duration::from_secs(60)) });
    // Premium then balanced then the local cheap tier all say "come back in a minute".
    let script = Script::new(&clock, vec![long(), long(), long()]);
    let r = router(three_tiers(), &paths, &script, &clock);
    let routed = block_on(r.route(&request(Task::Songwriting, "un couplet"), &CancelToken::new()));
    assert_eq!(note_code(&routed), Some("rate_limited"));
    let Outcome::Embedded { note: Some(note) } = &routed.outcome else { panic!() };
    assert!(note.en.contains("The OpenAI-compatible server is limiting requests"), "{}", note.en);
    assert_eq!(script.calls(), vec!["gpt-4o", "gpt-4o-mini", "qwen2.5-0.5b-instruct"]);
    assert!(clock.sleeps().is_empty(), "nothing waited: 60 s is over the 10 s cap");
}

#[test]
fn server_errors_back_off_with_jitter_and_then_succeed() {
    let (paths, clock) = (temp_paths("5xx"), clock());
    let script = Script::new(
        &clock,
        vec![err(ProviderError::Server(503)), err(ProviderError::Connection("reset".into())), ok("{}", 10, 10)],
    );
    let r = router(three_tiers(), &paths, &script, &clock);
    let routed = block_on(r.route(&request(Task::Suggestion, ""), &CancelToken::new()));
    assert!(matches!(routed.outcome, Outcome::Model { cached: false, note: None, .. }), "{routed:?}");
    assert_eq!(script.calls(), vec!["gpt-4o-mini"; 3], "same model: server errors do not change tier");
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2);
    assert!(sleeps[0] >= Duration::from_millis(250) && sleeps[0] <= Duration::from_millis(500), "{sleeps:?}");
    assert!(sleeps[1] >= Duration::from_millis(500) && sleeps[1] <= Duration::from_millis(1000), "{sleeps:?}");
}

#[test]
fn server_errors_on_every_attempt_end_with_the_embedded_engine() {
    let (paths, clock) = (temp_paths("5xx-all"), clock());
    let script = Script::new(
        &clock,
        vec![err(ProviderError::Server(500)), err(ProviderError::Server(502)), err(ProviderError::Timeout)],
    );
    let r = router(three_tiers(), &paths, &script, &clock);
    let routed = block_on(r.route(&request(Task::Chat, ""), &CancelToken::new()));
    assert_eq!(note_code(&routed), Some("unreachable"));
    let Outcome::Embedded { note: Some(note) } = &routed.outcome else { panic!() };
    assert!(
        note.en.contains("No answer from OpenAI after several tries (the provider did not answer in time)"),
        "{}",
        note.en
    );
    assert!(note.fr.starts_with("Aucune réponse d'OpenAI après plusieurs essais"), "{}", note.fr);
    assert_eq!(script.calls().len(), 3);
    let log = records(&paths);
    assert_eq!((log[0].attempts, log[0].errors, log[0].outcome), (3, 3, AuditOutcome::Embedded));
}

#[test]
fn auth_and_quota_errors_are_never_retried() {
    for (error, code, needle) in [
        (ProviderError::Auth, "auth", "refused the API key"),
        (ProviderError::Quota, "quota", "out of credit or quota"),
        (ProviderError::Refused { status: 404, message: "no such model".into() }, "refused", "HTTP 404"),
    ] {
        let (paths, clock) = (temp_paths(code), clock());
        let script = Script::new(&clock, vec![err(error)]);
        let r = router(three_tiers(), &paths, &script, &clock);
        let routed = block_on(r.route(&request(Task::Chat, ""), &CancelToken::new()));
        assert_eq!(note_code(&routed), Some(code));
        let Outcome::Embedded { note: Some(note) } = &routed.outcome else { panic!() };
        assert!(note.en.contains(needle), "{}", note.en);
        assert!(!note.en.contains(SECRET_KEY) && !note.fr.contains(SECRET_KEY));
        assert_eq!(script.calls().len(), 1, "{code}: one call, no retry");
        assert!(clock.sleeps().is_empty());
    }
}

#[test]
fn a_missing_key_is_said_and_nothing_is_sent() {
    let (paths, clock) = (temp_paths("nokey"), clock());
    let mut config = three_tiers();
    config.keys.openai = None;
    let script = Script::new(&clock, vec![]);
    let r = router(config, &paths, &script, &clock);
    let routed = block_on(r.route(&request(Task::Chat, ""), &CancelToken::new()));
    assert_eq!(note_code(&routed), Some("no_key"));
    let Outcome::Embedded { note: Some(note) } = &routed.outcome else { panic!() };
    assert!(note.en.contains("OPENAI_API_KEY") && note.fr.contains("Pas de clé API pour OpenAI"));
    assert!(script.calls().is_empty());
    // The local tier needs no key.
    let script = Script::new(&clock, vec![ok("{}", 1, 1)]);
    let r = router(three_tiers(), &paths, &script, &clock);
    assert!(matches!(
        block_on(r.route(&request(Task::Digest, ""), &CancelToken::new())).outcome,
        Outcome::Model { .. }
    ));
}

#[test]
fn the_deadline_gives_the_embedded_engine_with_a_note() {
    let (paths, clock) = (temp_paths("deadline"), clock());
    let mut config = three_tiers();
    config.policy.deadline = Duration::from_secs(20);
    let script = Script::new(&clock, vec![Step::Stall]);
    let r = router(config, &paths, &script, &clock);
    let routed = block_on(r.route(&request(Task::Chat, ""), &CancelToken::new()));
    assert_eq!(note_code(&routed), Some("deadline"));
    let Outcome::Embedded { note: Some(note) } = &routed.outcome else { panic!() };
    assert!(note.en.contains("within 20 s") && note.fr.contains("en 20 s"), "{note:?}");
    assert_eq!(clock.elapsed(), Duration::from_secs(20), "gave up exactly at the deadline");
    assert_eq!(records(&paths)[0].latency_ms, 20_000);

    // A backoff that would end past the deadline is not waited.
    let (paths, clock) = (temp_paths("deadline-backoff"), self::clock());
    let mut config = three_tiers();
    config.policy.deadline = Duration::from_millis(400);
    let script = Script::new(&clock, vec![err(ProviderError::Server(500))]);
    let r = router(config, &paths, &script, &clock).with_seed(1);
    let routed = block_on(r.route(&request(Task::Chat, ""), &CancelToken::new()));
    assert_eq!(note_code(&routed), Some("deadline"));
    assert!(clock.sleeps().is_empty(), "{:?}", clock.sleeps());
}

#[test]
fn budgets_stop_calls_before_they_are_made_and_survive_a_restart() {
    let (paths, clock) = (temp_paths("budget"), clock());
    let mut config = three_tiers();
    config.budget.requests_per_day = 2;
    let script = Script::new(&clock, vec![ok("a", 10, 10), ok("b", 10, 10)]);
    let r = router(config.clone(), &paths, &script, &clock);
    let cancel = CancelToken::new();
    for words in ["one", "two"] {
        assert!(matches!(block_on(r.route(&request(Task::Chat, words), &cancel)).outcome, Outcome::Model { .. }));
    }
    let third = block_on(r.route(&request(Task::Chat, "three"), &cancel));
    assert_eq!(note_code(&third), Some("budget"));
    let Outcome::Embedded { note: Some(note) } = &third.outcome else { panic!() };
    assert!(note.en.starts_with("Daily limit of 2 requests to the language model reached"), "{}", note.en);
    assert!(note.fr.starts_with("Limite quotidienne de 2 requêtes au modèle de langage atteinte"), "{}", note.fr);
    assert_eq!(script.calls().len(), 2, "the third was never sent");

    // The local server on 127.0.0.1 is free and not counted: the digest (cheap tier) still goes.
    let script = Script::new(&clock, vec![ok("local", 10, 10)]);
    let r = router(config.clone(), &paths, &script, &clock);
    assert!(matches!(block_on(r.route(&request(Task::Digest, "six"), &cancel)).outcome, Outcome::Model { .. }));
    assert_eq!(r.budget_today().day_requests, 2);

    // A restart the same day: still over.
    let script = Script::new(&clock, vec![ok("c", 10, 10)]);
    let r = router(config.clone(), &paths, &script, &clock);
    assert_eq!(note_code(&block_on(r.route(&request(Task::Chat, "four"), &cancel))), Some("budget"));
    // Local midnight (23:00 UTC at UTC+1) starts a new day.
    clock.advance(Duration::from_secs(2 * 3600));
    assert!(matches!(block_on(r.route(&request(Task::Chat, "five"), &cancel)).outcome, Outcome::Model { .. }));
}

#[test]
fn the_cost_cap_counts_the_estimate_of_the_next_call() {
    let (paths, clock) = (temp_paths("budget-usd"), clock());
    let mut config = three_tiers();
    // gpt-4o: $2.50 in, $10 out per million. 500 max_tokens alone is $0.005.
    config.tasks.insert(Task::Chat, Tier::Premium);
    config.budget.usd_per_day = 0.004;
    let script = Script::new(&clock, vec![]);
    let r = router(config, &paths, &script, &clock);
    let routed = block_on(r.route(&request(Task::Chat, ""), &CancelToken::new()));
    let Outcome::Embedded { note: Some(note) } = &routed.outcome else { panic!("{routed:?}") };
    assert_eq!(note.code, "budget");
    assert!(note.en.contains("past the $0.0040 daily budget ($0.00 spent"), "{}", note.en);
    assert!(note.fr.contains("budget quotidien de 0,0040 $ (0,00 $ déjà dépensés"), "{}", note.fr);
    assert!(script.calls().is_empty());
}

#[test]
fn the_rate_limit_waits_a_little_or_goes_cheaper_or_falls_back_with_the_delay() {
    let (paths, clock) = (temp_paths("bucket"), clock());
    let mut config = three_tiers();
    config.tiers.remove(&Tier::Cheap);
    config.rate_limits.openai.requests_per_minute = 30.0; // a token every 2 s
    config.rate_limits.openai.burst = 1;
    config.rate_limits.max_wait = Duration::from_secs(1);
    let script = Script::new(&clock, vec![ok("a", 1, 1), ok("b", 1, 1)]);
    let r = router(config, &paths, &script, &clock);
    let cancel = CancelToken::new();
    assert!(matches!(block_on(r.route(&request(Task::Chat, "1"), &cancel)).outcome, Outcome::Model { .. }));
    // At t = 0.8 s (the first call's latency) the next token is 1.2 s away: more than the 1 s
    // allowed, and no cheaper tier: the embedded engine, with the delay.
    let second = block_on(r.route(&request(Task::Chat, "2"), &cancel));
    let Outcome::Embedded { note: Some(note) } = &second.outcome else { panic!("{second:?}") };
    assert_eq!(note.code, "local_rate_limit");
    assert!(note.en.contains("the next is possible in 2 s") && note.fr.contains("dans 2 s"), "{note:?}");
    // Half a second later the wait is 0.7 s: waited, then sent.
    clock.advance(Duration::from_millis(500));
    assert!(matches!(block_on(r.route(&request(Task::Chat, "3"), &cancel)).outcome, Outcome::Model { .. }));
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 1);
    assert!((sleeps[0].as_secs_f64() - 0.7).abs() < 1e-6, "{sleeps:?}");
    assert_eq!(script.calls(), vec!["gpt-4o-mini", "gpt-4o-mini"]);

    // With a cheaper tier on another server, the refusal moves down instead.
    let (paths, clock) = (temp_paths("bucket-cheaper"), self::clock());
    let mut config = three_tiers();
    config.rate_limits.openai.burst = 1;
    config.rate_limits.max_wait = Duration::ZERO;
    let script = Script::new(&clock, vec![ok("a", 1, 1), ok("b", 1, 1)]);
    let r = router(config, &paths, &script, &clock);
    block_on(r.route(&request(Task::Chat, "1"), &cancel));
    let second = block_on(r.route(&request(Task::Chat, "2"), &cancel));
    let Outcome::Model { model, note: Some(note), .. } = &second.outcome else { panic!("{second:?}") };
    assert_eq!(model.model, "qwen2.5-0.5b-instruct");
    assert!(
        note.en.contains("gpt-4o-mini reached your rate limit; qwen2.5-0.5b-instruct answered instead"),
        "{}",
        note.en
    );
}

#[test]
fn cancelling_before_or_during_a_call_stops_everything() {
    let (paths, clock) = (temp_paths("cancel"), clock());
    let script = Script::new(&clock, vec![]);
    let r = router(three_tiers(), &paths, &script, &clock);
    let cancel = CancelToken::new();
    cancel.cancel();
    assert_eq!(block_on(r.route(&request(Task::Chat, ""), &cancel)).outcome, Outcome::Cancelled);
    assert!(script.calls().is_empty());
    assert_eq!(records(&paths)[0].outcome, AuditOutcome::Cancelled);

    // On the real clock: a call that never answers, cancelled 30 ms in (the deadline is 45 s).
    let paths = temp_paths("cancel-real");
    let script = Script::new(&clock, vec![Step::Stall]);
    let r = Router::new(three_tiers(), Prices::shipped(), &paths, script.clone(), SystemClock::new());
    let cancel = CancelToken::new();
    let q = request(Task::Chat, "");
    let (routed, ()) = block_on(async {
        tokio::join!(r.route(&q, &cancel), async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            cancel.cancel();
        })
    });
    assert_eq!(routed.outcome, Outcome::Cancelled);
    assert_eq!(script.calls().len(), 1);

    // And while waiting out a Retry-After of 5 s.
    let paths = temp_paths("cancel-wait");
    let script =
        Script::new(&clock, vec![err(ProviderError::RateLimited { retry_after: Some(Duration::from_secs(5)) })]);
    let r = Router::new(three_tiers(), Prices::shipped(), &paths, script.clone(), SystemClock::new());
    let cancel = CancelToken::new();
    let q = request(Task::Chat, "");
    let (routed, ()) = block_on(async {
        tokio::join!(r.route(&q, &cancel), async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            cancel.cancel();
        })
    });
    assert_eq!(routed.outcome, Outcome::Cancelled);
    assert_eq!(script.calls().len(), 1, "no retry after the cancel");
}

#[test]
fn an_unusable_answer_can_be_discarded_and_try_again_bypasses_the_cache() {
    let (paths, clock) = (temp_paths("discard"), clock());
    let script = Script::new(&clock, vec![ok("not json", 1, 1), ok("{}", 1, 1), ok("{\"v\":2}", 1, 1)]);
    let r = router(three_tiers(), &paths, &script, &clock);
    let cancel = CancelToken::new();
    let q = request(Task::Suggestion, "");
    let first = block_on(r.route(&q, &cancel));
    r.discard(&first);
    let second = block_on(r.route(&q, &cancel));
    assert!(matches!(&second.outcome, Outcome::Model { completion, cached: false, .. } if completion.text == "{}"));
    let third = block_on(r.route(&q, &cancel));
    assert!(matches!(&third.outcome, Outcome::Model { cached: true, .. }));
    let fresh = block_on(r.route_with(&q, RouteOptions { bypass_cache: true }, &cancel));
    assert!(
        matches!(&fresh.outcome, Outcome::Model { completion, cached: false, .. } if completion.text == "{\"v\":2}")
    );
    // The fresh answer replaced the cached one.
    let fourth = block_on(r.route(&q, &cancel));
    assert!(
        matches!(&fourth.outcome, Outcome::Model { completion, cached: true, .. } if completion.text == "{\"v\":2}")
    );
    assert_eq!(script.calls().len(), 3);
}

#[test]
fn the_audit_summarises_the_log_the_router_wrote() {
    let (paths, clock) = (temp_paths("cli"), clock());
    let script = Script::new(
        &clock,
        vec![ok("{}", 1000, 200), err(ProviderError::Server(500)), ok("{}", 1000, 200), err(ProviderError::Auth)],
    );
    let r = router(three_tiers(), &paths, &script, &clock);
    let cancel = CancelToken::new();
    block_on(r.route(&request(Task::Chat, "1"), &cancel)); // answered
    block_on(r.route(&request(Task::Chat, "1"), &cancel)); // cache
    block_on(r.route(&request(Task::Suggestion, "2"), &cancel)); // 500 then answered
    block_on(r.route(&request(Task::Chat, "3"), &cancel)); // auth: embedded

    let audit = |json: bool, since_days: Option<u32>, log: std::path::PathBuf| {
        audit::run(&AuditQuery { json, since_days, log: Some(log) }, Timestamp::now()).unwrap()
    };
    let output = audit(true, None, paths.audit_file());
    let json: serde_json::Value = serde_json::from_str(&output).unwrap();
    assert_eq!(json["requests"], 4);
    assert_eq!((json["attempts"].as_u64(), json["failed_attempts"].as_u64()), (Some(4), Some(2)));
    assert_eq!(json["error_rate"], 0.5);
    assert_eq!((json["cache_hits"].as_u64(), json["cache_lookups"].as_u64()), (Some(1), Some(4)));
    assert_eq!(json["fallback_reasons"]["auth"], 1);
    assert_eq!(json["days"][0]["period"], "2026-11-23");
    let usd = json["usd"].as_f64().unwrap();
    assert!((usd - 2.0 * (1000.0 * 0.15 + 200.0 * 0.60) / 1e6).abs() < 1e-12, "{usd}");

    let text = audit(false, None, paths.audit_file());
    assert!(text.contains("Error rate: 50.0 % (2 failed of 4 calls)"), "{text}");
    assert!(text.contains("Cache hit rate: 25.0 % (1 of 4 lookups)"), "{text}");

    let missing = audit(false, Some(7), "/nonexistent/audit.jsonl".into());
    assert!(missing.contains("No log yet"), "{missing}");
}

#[test]
fn a_stream_that_breaks_is_restarted_and_the_retry_streams_whole() {
    let (paths, clock) = (temp_paths("stream"), clock());
    let answer = "{\"message\":\"Moins de 250 Hz.\",\"changes\":[]}";
    let script =
        Script::new(&clock, vec![Step::Broken("{\"message\":\"Moi", ProviderError::Server(502)), ok(answer, 900, 40)]);
    let r = router(three_tiers(), &paths, &script, &clock);
    let mut events: Vec<String> = Vec::new();
    let mut sink = |e: Streamed<'_>| {
        events.push(match e {
            Streamed::Text(t) => t.to_string(),
            Streamed::Restart => "<restart>".to_string(),
        })
    };
    let req = request(Task::Chat, USER_WORDS);
    let routed = block_on(r.route_streaming(&req, RouteOptions::default(), &CancelToken::new(), Some(&mut sink)));
    assert!(matches!(routed.outcome, Outcome::Model { cached: false, .. }), "{routed:?}");
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!((events[0].as_str(), events[1].as_str()), ("{\"message\":\"Moi", "<restart>"));
    assert_eq!(events[2..].concat(), answer, "after the restart the pieces add up to the answer");

    // The same request again: the cache answers, in one piece.
    events.clear();
    let mut sink = |e: Streamed<'_>| {
        if let Streamed::Text(t) = e {
            events.push(t.to_string());
        }
    };
    let routed = block_on(r.route_streaming(&req, RouteOptions::default(), &CancelToken::new(), Some(&mut sink)));
    assert!(matches!(routed.outcome, Outcome::Model { cached: true, .. }), "{routed:?}");
    assert_eq!(events, [answer]);
}
