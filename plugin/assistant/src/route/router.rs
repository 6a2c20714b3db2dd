//! The router: one request in, one [`Outcome`] out. A model's answer, or the embedded engine
//! with a note saying why, or nothing because the musician cancelled.
//!
//! For a request of task T, the config gives T's tier and the tiers below it (the fallback
//! chain, e.g. premium → balanced → cheap, ending at the first tier that has no model). For
//! each tier in turn:
//!
//! 1. the cache: an identical request answered recently is served again, free;
//! 2. a key must exist for OpenAI and Anthropic (else: embedded, "no API key");
//! 3. before *every* call: the budget (else: embedded, with the cap in English and French;
//!    a server on this machine is free and not counted, see [`on_this_machine`]), then the
//!    rate limit (a short wait, or the next tier, or embedded);
//! 4. the call, raced against cancellation and the overall deadline;
//! 5. on failure, the pure [`decide`]:
//!    * 429: wait the server's Retry-After (when it is at most
//!      [`Policy::max_retry_after`]) and retry once; then the next cheaper tier;
//!    * 5xx, connection error, timeout, malformed answer: capped exponential [`backoff`] with
//!      jitter, up to [`Policy::attempts`] calls; then embedded;
//!    * a refused key, an exhausted quota, another refusal (400, 404): never retried,
//!      embedded at once, the note says what to check;
//!    * cancellation: stop.
//!
//! Past the deadline the embedded engine answers, with a visible note. Every request, however
//! it ends, appends one line to the audit log.
//!
//! The caller runs the embedded engine itself when the outcome says so: the router only
//! decides. It holds no lock across an await; it can serve several requests at once.

use super::super::llm::{Completion, ModelRef, ProviderError, ProviderKind, Request, Tier, Usage};
use super::audit::{self, AuditEvent, AuditLog, AuditOutcome, RequestRecord};
use super::budget::{Budget, BudgetExceeded, BudgetState};
use super::cache::{cache_key, CacheKey, ResponseCache};
use super::clock::{CancelToken, Clock};
use super::config::{Config, Policy, ANTHROPIC_KEY_ENV, OPENAI_KEY_ENV};
use super::prices::{estimate_usage, Prices, CHARS_PER_TOKEN};
use super::ratelimit::RateLimiter;
use super::Paths;
use crate::provider::{ApiKey, Client, DeltaSink};
use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// What the router needs from a provider client: one call, one answer or one error.
/// [`crate::provider::Client`] implements it; so does any test double.
pub trait Complete: Send + Sync {
    /// Sends `request` to `model` with `key` and waits for the whole answer, handing the text
    /// to `on_delta` as it arrives when one is given. Dropping the future, or `cancel`, stops
    /// the call.
    fn complete(
        &self,
        model: &ModelRef,
        key: Option<&ApiKey>,
        request: &Request,
        on_delta: Option<DeltaSink<'_>>,
        cancel: &CancelToken,
    ) -> impl Future<Output = Result<Completion, ProviderError>> + Send;
}

impl Complete for Client {
    fn complete(
        &self,
        model: &ModelRef,
        key: Option<&ApiKey>,
        request: &Request,
        on_delta: Option<DeltaSink<'_>>,
        cancel: &CancelToken,
    ) -> impl Future<Output = Result<Completion, ProviderError>> + Send {
        Client::complete(self, model, key, request, on_delta, cancel)
    }
}

/// What a streamed request hands its sink, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Streamed<'a> {
    /// More of the answer's text.
    Text(&'a str),
    /// The text streamed so far is void: a retry or a cheaper model starts over.
    Restart,
}

/// Where a streamed request's text goes.
pub type StreamSink<'a> = &'a mut (dyn FnMut(Streamed<'_>) + Send);

/// The first backoff (before jitter).
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// The longest backoff.
pub const BACKOFF_CAP: Duration = Duration::from_secs(8);
/// The wait assumed when a 429 gives no Retry-After.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The wait before retry number `attempt + 1` after a server or connection error:
/// `min(BACKOFF_CAP, BACKOFF_BASE · 2^attempt)`, of which the upper half is scaled by `jitter`
/// in 0..=1 ("equal jitter" in Brooker, *Exponential Backoff and Jitter*, AWS Architecture Blog,
/// 2015): never less than half the step, so a retry never comes at once, and clients that failed
/// together do not retry together. A jitter outside 0..=1 is clamped; NaN counts as 0.5.
pub fn backoff(attempt: u32, jitter: f64) -> Duration {
    let factor = 1u32.checked_shl(attempt).unwrap_or(u32::MAX);
    let step = BACKOFF_BASE.saturating_mul(factor).min(BACKOFF_CAP);
    let jitter = if jitter.is_nan() { 0.5 } else { jitter.clamp(0.0, 1.0) };
    step / 2 + step.mul_f64(jitter / 2.0)
}

/// Calls made so far to one tier's model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tried {
    /// Calls made (the one that just failed included).
    pub attempts: u32,
    /// 429s retried already.
    pub rate_limited: u32,
}

/// What to do after a failed call.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Call the same model again after this wait.
    Retry(Duration),
    /// Try the next cheaper tier now.
    CheaperTier,
    /// Give up on the network: the embedded engine answers.
    Embedded(Reason),
    /// Cancelled: stop everything.
    Stop,
}

/// The fallback policy, pure: what to do after `error` from `provider`, given what was tried on
/// this tier, the policy, and a `jitter` in 0..=1 for the backoff.
pub fn decide(error: &ProviderError, provider: ProviderKind, tried: Tried, policy: &Policy, jitter: f64) -> Decision {
    match error {
        ProviderError::Cancelled => Decision::Stop,
        ProviderError::Auth => Decision::Embedded(Reason::Auth(provider)),
        ProviderError::Quota => Decision::Embedded(Reason::Quota(provider)),
        ProviderError::Refused { status, .. } => Decision::Embedded(Reason::Refused { provider, status: *status }),
        ProviderError::RateLimited { retry_after } => {
            let wait = retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
            if tried.rate_limited == 0 && wait <= policy.max_retry_after {
                Decision::Retry(wait)
            } else {
                Decision::CheaperTier
            }
        }
        ProviderError::Server(_)
        | ProviderError::Connection(_)
        | ProviderError::Timeout
        | ProviderError::Malformed(_) => {
            if tried.attempts < policy.attempts {
                Decision::Retry(backoff(tried.attempts.saturating_sub(1), jitter))
            } else {
                Decision::Embedded(Reason::Unreachable { provider, error: error.clone() })
            }
        }
    }
}

/// Why the embedded engine answered, or why a cheaper model did.
#[derive(Clone, Debug, PartialEq)]
pub enum Reason {
    /// The tier's provider needs a key and none is configured.
    NoKey(ProviderKind),
    /// A budget cap.
    Budget(BudgetExceeded),
    /// The provider answered 429 again, or asked for a wait longer than the policy allows.
    RateLimited(ProviderKind),
    /// The musician's own rate limit: the next request is possible in `retry_in`.
    LocalRateLimit {
        /// The provider.
        provider: ProviderKind,
        /// When a token will be free.
        retry_in: Duration,
    },
    /// No answer within the deadline.
    Deadline(Duration),
    /// The key was refused.
    Auth(ProviderKind),
    /// The account is out of quota or credit.
    Quota(ProviderKind),
    /// Another refusal (HTTP 400, 404, …): the request or the model name is wrong.
    Refused {
        /// The provider.
        provider: ProviderKind,
        /// HTTP status.
        status: u16,
    },
    /// Server or connection errors on every attempt.
    Unreachable {
        /// The provider.
        provider: ProviderKind,
        /// The last error.
        error: ProviderError,
    },
}

/// A message for the musician, in English and French, with a stable code for the audit log
/// and for tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// `no_key`, `budget`, `rate_limited`, `local_rate_limit`, `deadline`, `auth`, `quota`,
    /// `refused`, `unreachable`, `cheaper_tier`.
    pub code: &'static str,
    /// English.
    pub en: String,
    /// French.
    pub fr: String,
}

fn provider_name(p: ProviderKind) -> (&'static str, &'static str) {
    match p {
        ProviderKind::Openai => ("OpenAI", "OpenAI"),
        ProviderKind::Anthropic => ("Anthropic", "Anthropic"),
        ProviderKind::OpenaiCompatible => ("the OpenAI-compatible server", "le serveur compatible OpenAI"),
        ProviderKind::Embedded => ("the embedded engine", "le moteur intégré"),
    }
}

fn key_hint(p: ProviderKind) -> String {
    match p {
        ProviderKind::Openai => format!("{OPENAI_KEY_ENV} or config.toml [keys]"),
        ProviderKind::Anthropic => format!("{ANTHROPIC_KEY_ENV} or config.toml [keys]"),
        _ => "config.toml [keys]".to_string(),
    }
}

/// Capitalises the first letter (a provider name at the start of a sentence).
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or(String::new(), |c| c.to_uppercase().chain(chars).collect())
}

impl Reason {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::NoKey(_) => "no_key",
            Reason::Budget(_) => "budget",
            Reason::RateLimited(_) => "rate_limited",
            Reason::LocalRateLimit { .. } => "local_rate_limit",
            Reason::Deadline(_) => "deadline",
            Reason::Auth(_) => "auth",
            Reason::Quota(_) => "quota",
            Reason::Refused { .. } => "refused",
            Reason::Unreachable { .. } => "unreachable",
        }
    }

    /// The note shown with the embedded engine's answer.
    pub fn note(&self) -> Note {
        let (en, fr) = match self {
            Reason::NoKey(p) => {
                let ((en_p, fr_p), hint) = (provider_name(*p), key_hint(*p));
                (
                    format!("No API key for {en_p} (set {hint}). The built-in engine answers offline."),
                    format!("Pas de clé API pour {fr_p} (à définir : {hint}). Le moteur intégré répond hors ligne."),
                )
            }
            Reason::Budget(e) => (e.message_en(), e.message_fr()),
            Reason::RateLimited(p) => {
                let (en_p, fr_p) = provider_name(*p);
                (
                    format!("{} is limiting requests right now (HTTP 429) and no cheaper model is configured. The built-in engine answers offline; try again in a minute.", sentence(en_p)),
                    format!("{} limite les requêtes en ce moment (HTTP 429) et aucun modèle moins cher n'est configuré. Le moteur intégré répond hors ligne ; réessayez dans une minute.", sentence(fr_p)),
                )
            }
            Reason::LocalRateLimit { provider, retry_in } => {
                let (en_p, fr_p) = provider_name(*provider);
                let s = retry_in.as_secs_f64().ceil();
                (
                    format!("Too many requests to {en_p} in a short time (your limit, config.toml [rate_limit]); the next is possible in {s:.0} s. The built-in engine answers meanwhile."),
                    format!("Trop de requêtes vers {fr_p} en peu de temps (votre limite, config.toml [rate_limit]) ; la prochaine sera possible dans {s:.0} s. Le moteur intégré répond en attendant."),
                )
            }
            Reason::Deadline(d) => {
                let s = d.as_secs_f64();
                (
                    format!("No answer from the language model within {s:.0} s. Here is the built-in engine's answer instead."),
                    format!("Pas de réponse du modèle de langage en {s:.0} s. Voici la réponse du moteur intégré à la place."),
                )
            }
            Reason::Auth(p) => {
                let ((en_p, fr_p), hint) = (provider_name(*p), key_hint(*p));
                (
                    format!(
                        "{} refused the API key: check it ({hint}). The built-in engine answers offline.",
                        sentence(en_p)
                    ),
                    format!(
                        "{} a refusé la clé API : vérifiez-la ({hint}). Le moteur intégré répond hors ligne.",
                        sentence(fr_p)
                    ),
                )
            }
            Reason::Quota(p) => {
                let (en_p, fr_p) = provider_name(*p);
                (
                    format!("Your {en_p} account is out of credit or quota. The built-in engine answers offline until it is topped up."),
                    format!("Votre compte {fr_p} n'a plus de crédit ou de quota. Le moteur intégré répond hors ligne jusqu'à ce qu'il soit rechargé."),
                )
            }
            Reason::Refused { provider, status } => {
                let (en_p, fr_p) = provider_name(*provider);
                (
                    format!("{} refused the request (HTTP {status}); check the model name in config.toml. The built-in engine answers offline.", sentence(en_p)),
                    format!("{} a refusé la requête (HTTP {status}) ; vérifiez le nom du modèle dans config.toml. Le moteur intégré répond hors ligne.", sentence(fr_p)),
                )
            }
            Reason::Unreachable { provider, error } => {
                let (en_p, fr_p) = provider_name(*provider);
                (
                    format!(
                        "No answer from {en_p} after several tries ({error}). The built-in engine answers offline."
                    ),
                    format!(
                        "Aucune réponse {} après plusieurs essais ({error}). Le moteur intégré répond hors ligne.",
                        de(fr_p)
                    ),
                )
            }
        };
        Note { code: self.code(), en, fr }
    }
}

/// French "de" before a name: "du serveur …", "d'OpenAI", "d'Anthropic".
fn de(name: &str) -> String {
    match name.strip_prefix("le ") {
        Some(rest) => format!("du {rest}"),
        None if name.starts_with(['A', 'E', 'I', 'O', 'U']) => format!("d'{name}"),
        None => format!("de {name}"),
    }
}

/// The note when a cheaper tier answered because `from` could not.
fn cheaper_note(from: &ModelRef, to: &ModelRef, why: &Reason) -> Note {
    let (en_why, fr_why) = match why {
        Reason::LocalRateLimit { .. } => ("reached your rate limit", "a atteint votre limite de débit"),
        _ => ("is limiting requests (HTTP 429)", "limite les requêtes (HTTP 429)"),
    };
    Note {
        code: "cheaper_tier",
        en: format!("{} {en_why}; {} answered instead.", from.model, to.model),
        fr: format!("{} {fr_why} ; {} a répondu à la place.", from.model, to.model),
    }
}

/// How a routed request ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// A model answered.
    Model {
        /// The answer.
        completion: Completion,
        /// The model asked.
        model: ModelRef,
        /// Its tier.
        tier: Tier,
        /// Served from the cache.
        cached: bool,
        /// Set when a cheaper tier answered than the task's own.
        note: Option<Note>,
    },
    /// The caller should ask the embedded engine. `note` says why, when it is a fallback
    /// (`None`: the configuration routes this task to the embedded engine).
    Embedded {
        /// Why, in English and French.
        note: Option<Note>,
    },
    /// Cancelled; nothing to show.
    Cancelled,
}

/// A routed request: its id (for the applied/undone events) and how it ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Routed {
    /// The audit log's id of this request.
    pub id: String,
    /// How it ended.
    pub outcome: Outcome,
    cache_key: Option<CacheKey>,
}

/// Per-request options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouteOptions {
    /// Ask the model even if the cache has an answer ("try again"); the new answer replaces
    /// the cached one.
    pub bypass_cache: bool,
}

struct State {
    cache: ResponseCache,
    budget: Budget,
    limiter: RateLimiter,
    /// SplitMix64 state: backoff jitter and request ids.
    rng: u64,
}

impl State {
    /// SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators",
    /// OOPSLA 2014).
    fn next_u64(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in 0..1 from the top 53 bits.
    fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What the audit line will say, filled in as the request goes.
struct Trace {
    tier: Option<Tier>,
    provider: ProviderKind,
    model: Option<String>,
    usage: Usage,
    usd: f64,
    cache_checked: bool,
    cache_hit: bool,
    fallback: Option<&'static str>,
    attempts: u32,
    errors: u32,
    cache_key: Option<CacheKey>,
}

enum Call {
    Done(Result<Completion, ProviderError>),
    Cancelled,
    Deadline,
}

/// The router. `C` calls providers, `K` tells the time.
pub struct Router<C, K> {
    config: Config,
    prices: Prices,
    client: C,
    clock: K,
    audit: AuditLog,
    state: Mutex<State>,
    warnings: Vec<String>,
}

impl<C: Complete, K: Clock> Router<C, K> {
    /// A router keeping its cache, budget counters and audit log under `paths`.
    pub fn new(config: Config, prices: Prices, paths: &Paths, client: C, clock: K) -> Self {
        Self::build(config, prices, Some(paths), client, clock)
    }

    /// A router that writes nothing to disk: cache in memory, budget counted from zero, no
    /// audit log.
    pub fn in_memory(config: Config, prices: Prices, client: C, clock: K) -> Self {
        Self::build(config, prices, None, client, clock)
    }

    fn build(config: Config, prices: Prices, paths: Option<&Paths>, client: C, clock: K) -> Self {
        let cache_dir = paths.map(Paths::response_cache);
        let budget_file = paths.map(Paths::budget_file);
        let cache = ResponseCache::open(config.cache, cache_dir.as_deref());
        let (budget, warning) = Budget::open(config.budget, budget_file.as_deref());
        let seed =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
                ^ u64::from(std::process::id()).rotate_left(32);
        let state = State { cache, budget, limiter: RateLimiter::new(config.rate_limits), rng: seed };
        Self {
            audit: AuditLog::new(paths.map(Paths::audit_file)),
            config,
            prices,
            client,
            clock,
            state: Mutex::new(state),
            warnings: warning.into_iter().collect(),
        }
    }

    /// Seeds the jitter and id generator (reproducible tests).
    pub fn with_seed(self, seed: u64) -> Self {
        self.lock().rng = seed;
        self
    }

    /// Problems found while opening (corrupted budget counters), to show once.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The budget counters as of today (for a settings panel).
    pub fn budget_today(&self) -> BudgetState {
        let today = self.clock.now().date();
        self.lock().budget.state(today).clone()
    }

    /// The audit log.
    pub fn audit_log(&self) -> &AuditLog {
        &self.audit
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Routes `request` (see the module documentation).
    pub async fn route(&self, request: &Request, cancel: &CancelToken) -> Routed {
        self.route_with(request, RouteOptions::default(), cancel).await
    }

    /// Routes `request` with options.
    pub async fn route_with(&self, request: &Request, options: RouteOptions, cancel: &CancelToken) -> Routed {
        self.route_streaming(request, options, cancel, None).await
    }

    /// Routes `request`, streaming a model's answer into `sink` as it is written. A cached
    /// answer arrives as one piece.
    pub async fn route_streaming(
        &self,
        request: &Request,
        options: RouteOptions,
        cancel: &CancelToken,
        sink: Option<StreamSink<'_>>,
    ) -> Routed {
        let started = self.clock.elapsed();
        let now = self.clock.now();
        let id = format!("{:x}-{:012x}", now.timestamp().as_millisecond(), self.lock().next_u64() >> 16);
        let mut trace = Trace {
            tier: None,
            provider: ProviderKind::Embedded,
            model: None,
            usage: Usage::default(),
            usd: 0.0,
            cache_checked: false,
            cache_hit: false,
            fallback: None,
            attempts: 0,
            errors: 0,
            cache_key: None,
        };
        let outcome = self.run(request, options, cancel, started, &mut trace, sink).await;

        let record = RequestRecord {
            id: id.clone(),
            time: audit::stamp(&now),
            task: request.task,
            tier: trace.tier,
            provider: trace.provider,
            model: trace.model,
            input_tokens: trace.usage.input_tokens,
            output_tokens: trace.usage.output_tokens,
            usd: trace.usd,
            latency_ms: audit::millis(self.clock.elapsed().saturating_sub(started)),
            cache_checked: trace.cache_checked,
            cache_hit: trace.cache_hit,
            outcome: match outcome {
                Outcome::Model { .. } => AuditOutcome::Model,
                Outcome::Embedded { .. } => AuditOutcome::Embedded,
                Outcome::Cancelled => AuditOutcome::Cancelled,
            },
            fallback: trace.fallback.map(String::from),
            attempts: trace.attempts,
            errors: trace.errors,
            request_chars: request_chars(request),
        };
        // The audit log is a record, never a reason to withhold an answer.
        let _ = self.audit.append(&AuditEvent::Request(record));
        Routed { id, outcome, cache_key: trace.cache_key }
    }

    /// The task's tier and the cheaper ones below it that have a model, without repeating a
    /// model; ends at the first tier routed to the embedded engine.
    fn chain(&self, first: Tier) -> Vec<(Tier, ModelRef)> {
        let mut chain: Vec<(Tier, ModelRef)> = Vec::new();
        let mut tier = Some(first);
        while let Some(t) = tier {
            let Some(model) = self.config.model_for(t) else { break };
            if !chain.iter().any(|(_, m)| m == model) {
                chain.push((t, model.clone()));
            }
            tier = t.cheaper();
        }
        chain
    }

    async fn run(
        &self,
        request: &Request,
        options: RouteOptions,
        cancel: &CancelToken,
        started: Duration,
        t: &mut Trace,
        mut sink: Option<StreamSink<'_>>,
    ) -> Outcome {
        // Whether text reached the sink, so the next attempt tells it to start over.
        let mut streamed = false;
        let deadline = started + self.config.policy.deadline;
        let fallback = |t: &mut Trace, reason: Reason| {
            t.fallback = Some(reason.code());
            Outcome::Embedded { note: Some(reason.note()) }
        };
        let chain = self.chain(self.config.tier_for(request.task));
        // Why the first tier did not answer, when a cheaper one is tried.
        let mut moved_down: Option<(ModelRef, Reason)> = None;

        'tiers: for (i, (tier, model)) in chain.iter().enumerate() {
            let has_cheaper = i + 1 < chain.len();
            (t.tier, t.provider, t.model) = (Some(*tier), model.provider, Some(model.model.clone()));
            let key = cache_key(model, request);
            let use_cache = self.config.cache.enabled;
            if use_cache && !options.bypass_cache {
                t.cache_checked = true;
                let now_ms = self.clock.now().timestamp().as_millisecond();
                let hit = self.lock().cache.get(key, now_ms);
                if let Some(completion) = hit {
                    (t.cache_hit, t.cache_key) = (true, Some(key));
                    if let Some(sink) = sink.as_deref_mut() {
                        if streamed {
                            sink(Streamed::Restart);
                        }
                        sink(Streamed::Text(&completion.text));
                    }
                    let note = moved_down.as_ref().map(|(from, why)| cheaper_note(from, model, why));
                    t.fallback = note.as_ref().map(|n| n.code);
                    return Outcome::Model { completion, model: model.clone(), tier: *tier, cached: true, note };
                }
            }
            if matches!(model.provider, ProviderKind::Openai | ProviderKind::Anthropic)
                && self.config.keys.get(model.provider).is_none()
            {
                return fallback(t, Reason::NoKey(model.provider));
            }

            let mut tried = Tried::default();
            loop {
                if cancel.is_cancelled() {
                    return Outcome::Cancelled;
                }
                let now = self.clock.elapsed();
                if now >= deadline {
                    return fallback(t, Reason::Deadline(self.config.policy.deadline));
                }
                let today = self.clock.now().date();
                let estimate = self.prices.estimate(model, request);
                let budgeted = !on_this_machine(model);
                let reservation = {
                    let mut state = self.lock();
                    if budgeted {
                        if let Err(exceeded) = state.budget.check(today, estimate.usd) {
                            return fallback(t, Reason::Budget(exceeded));
                        }
                    }
                    let max_wait = self.config.rate_limits.max_wait.min(deadline - now);
                    state.limiter.reserve(model, now, max_wait)
                };
                match reservation {
                    Ok(wait) if !wait.is_zero() => {
                        if self.pause(wait, cancel).await.is_err() {
                            return Outcome::Cancelled;
                        }
                    }
                    Ok(_) => {}
                    Err(retry_in) => {
                        let reason = Reason::LocalRateLimit { provider: model.provider, retry_in };
                        if has_cheaper {
                            moved_down.get_or_insert((model.clone(), reason));
                            continue 'tiers;
                        }
                        return fallback(t, reason);
                    }
                }
                // Counted when sent: a call that fails still used the provider.
                if budgeted {
                    let _ = self.lock().budget.record_request(today);
                }
                tried.attempts += 1;
                t.attempts += 1;

                let remaining = deadline.saturating_sub(self.clock.elapsed());
                let api_key = self.config.keys.get(model.provider);
                let call = match sink.as_deref_mut() {
                    Some(sink) => {
                        if streamed {
                            sink(Streamed::Restart);
                        }
                        let mut forward = |text: &str| {
                            streamed = true;
                            sink(Streamed::Text(text));
                        };
                        let call = self.client.complete(model, api_key, request, Some(&mut forward), cancel);
                        self.race(call, cancel, remaining).await
                    }
                    None => {
                        self.race(self.client.complete(model, api_key, request, None, cancel), cancel, remaining).await
                    }
                };
                let error = match call {
                    Call::Cancelled => return Outcome::Cancelled,
                    Call::Deadline => return fallback(t, Reason::Deadline(self.config.policy.deadline)),
                    Call::Done(Ok(completion)) => {
                        let usage = if completion.usage == Usage::default() {
                            // The provider did not count: estimate as before the call, with
                            // the real length of the answer.
                            let answer_tokens = completion.text.chars().count().div_ceil(CHARS_PER_TOKEN);
                            Usage {
                                input_tokens: estimate_usage(request).input_tokens,
                                output_tokens: u32::try_from(answer_tokens).unwrap_or(u32::MAX),
                            }
                        } else {
                            completion.usage
                        };
                        let usd = self.prices.price(model).cost_usd(usage);
                        {
                            let mut state = self.lock();
                            if budgeted {
                                let _ = state.budget.record_cost(today, usd);
                            }
                            if use_cache {
                                let now_ms = self.clock.now().timestamp().as_millisecond();
                                state.cache.put(key, &completion, now_ms);
                            }
                        }
                        (t.usage, t.usd, t.cache_key) = (usage, usd, use_cache.then_some(key));
                        let note = moved_down.as_ref().map(|(from, why)| cheaper_note(from, model, why));
                        t.fallback = note.as_ref().map(|n| n.code);
                        return Outcome::Model { completion, model: model.clone(), tier: *tier, cached: false, note };
                    }
                    Call::Done(Err(error)) => error,
                };

                t.errors += 1;
                let jitter = self.lock().next_unit();
                match decide(&error, model.provider, tried, &self.config.policy, jitter) {
                    Decision::Retry(wait) => {
                        if self.clock.elapsed() + wait >= deadline {
                            return fallback(t, Reason::Deadline(self.config.policy.deadline));
                        }
                        if matches!(error, ProviderError::RateLimited { .. }) {
                            tried.rate_limited += 1;
                        }
                        if self.pause(wait, cancel).await.is_err() {
                            return Outcome::Cancelled;
                        }
                    }
                    Decision::CheaperTier => {
                        let reason = Reason::RateLimited(model.provider);
                        if has_cheaper {
                            moved_down.get_or_insert((model.clone(), reason));
                            continue 'tiers;
                        }
                        return fallback(t, reason);
                    }
                    Decision::Embedded(reason) => return fallback(t, reason),
                    Decision::Stop => return Outcome::Cancelled,
                }
            }
        }
        // Only an empty chain gets here (every non-last tier continues, the last returns): the
        // task's tier is the embedded engine by configuration.
        match moved_down {
            Some((_, reason)) => fallback(t, reason),
            None => Outcome::Embedded { note: None },
        }
    }

    /// Runs a provider call against cancellation and the time left.
    async fn race(
        &self,
        call: impl Future<Output = Result<Completion, ProviderError>>,
        cancel: &CancelToken,
        remaining: Duration,
    ) -> Call {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => Call::Cancelled,
            result = call => Call::Done(result),
            _ = self.clock.sleep(remaining) => Call::Deadline,
        }
    }

    /// Waits `wait`, or less if cancelled (`Err`).
    async fn pause(&self, wait: Duration, cancel: &CancelToken) -> Result<(), ()> {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(()),
            _ = self.clock.sleep(wait) => Ok(()),
        }
    }

    /// The price table.
    pub fn prices(&self) -> &Prices {
        &self.prices
    }

    /// Forgets the cached answer of `routed` (the caller could not use it: it did not
    /// validate), so the same request asks the model again.
    pub fn discard(&self, routed: &Routed) {
        if let Some(key) = routed.cache_key {
            self.lock().cache.remove(key);
        }
    }

    /// Appends the musician's thumbs up (`true`) or down on the answer to request `id`.
    pub fn feedback(&self, id: &str, up: bool) -> std::io::Result<()> {
        self.audit.feedback(id, up, &self.clock.now())
    }

    /// Appends to the audit log that the changes of request `id` were applied (`true`) or
    /// undone (`false`).
    pub fn mark(&self, id: &str, applied: bool) -> std::io::Result<()> {
        self.audit.mark(id, applied, &self.clock.now())
    }
}

/// Whether `model` is served from this machine (an OpenAI-compatible server on localhost,
/// 127.0.0.0/8 or ::1). Such requests cost nothing and leave nothing to cap: the budget does
/// not count them (the rate limit still applies).
pub fn on_this_machine(model: &ModelRef) -> bool {
    if model.provider != ProviderKind::OpenaiCompatible {
        return false;
    }
    let Some(url) = model.base_url.as_deref() else { return false };
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    let host = host.to_ascii_lowercase();
    host == "localhost" || host == "::1" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// Characters of a request: its size for the audit log, never its text.
fn request_chars(request: &Request) -> u64 {
    let schema = request.schema.as_ref().map_or(0, |s| s.to_string().chars().count());
    let chars =
        request.system.chars().count() + request.messages.iter().map(|m| m.content.chars().count()).sum::<usize>();
    (chars + schema) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn backoff_doubles_from_half_a_second_to_eight_with_equal_jitter() {
        // Without jitter: half the step; with full jitter: the whole step.
        let steps: Vec<(Duration, Duration)> = (0..7).map(|a| (backoff(a, 0.0), backoff(a, 1.0))).collect();
        assert_eq!(
            steps,
            vec![
                (MS(250), MS(500)),
                (MS(500), MS(1000)),
                (MS(1000), MS(2000)),
                (MS(2000), MS(4000)),
                (MS(4000), MS(8000)),
                (MS(4000), MS(8000)),
                (MS(4000), MS(8000)),
            ]
        );
        assert_eq!(backoff(1, 0.5), MS(750));
        assert_eq!(backoff(u32::MAX, 2.0), MS(8000), "capped, jitter clamped");
        assert_eq!(backoff(0, f64::NAN), MS(375));
        assert_eq!(backoff(0, -1.0), MS(250));
    }

    fn tried(attempts: u32, rate_limited: u32) -> Tried {
        Tried { attempts, rate_limited }
    }

    #[test]
    fn rate_limits_wait_once_for_a_reasonable_retry_after_then_go_cheaper() {
        let p = Policy::default();
        let openai = ProviderKind::Openai;
        let limited = |s: Option<u64>| ProviderError::RateLimited { retry_after: s.map(Duration::from_secs) };
        assert_eq!(decide(&limited(Some(3)), openai, tried(1, 0), &p, 0.5), Decision::Retry(Duration::from_secs(3)));
        assert_eq!(decide(&limited(None), openai, tried(1, 0), &p, 0.5), Decision::Retry(DEFAULT_RETRY_AFTER));
        assert_eq!(
            decide(&limited(Some(3)), openai, tried(2, 1), &p, 0.5),
            Decision::CheaperTier,
            "retried once already"
        );
        assert_eq!(decide(&limited(Some(10)), openai, tried(1, 0), &p, 0.5), Decision::Retry(Duration::from_secs(10)));
        assert_eq!(decide(&limited(Some(11)), openai, tried(1, 0), &p, 0.5), Decision::CheaperTier, "over the cap");
    }

    #[test]
    fn server_and_connection_errors_back_off_a_few_times_then_give_up() {
        let p = Policy { attempts: 3, ..Policy::default() };
        let provider = ProviderKind::Anthropic;
        for error in [
            ProviderError::Server(503),
            ProviderError::Connection("reset".into()),
            ProviderError::Timeout,
            ProviderError::Malformed("truncated stream".into()),
        ] {
            assert_eq!(decide(&error, provider, tried(1, 0), &p, 0.0), Decision::Retry(MS(250)), "{error}");
            assert_eq!(decide(&error, provider, tried(2, 0), &p, 1.0), Decision::Retry(MS(1000)), "{error}");
            match decide(&error, provider, tried(3, 0), &p, 0.0) {
                Decision::Embedded(Reason::Unreachable { provider: p2, error: e }) => {
                    assert_eq!((p2, &e), (provider, &error));
                }
                other => panic!("{error}: {other:?}"),
            }
        }
    }

    #[test]
    fn credentials_quota_and_refusals_are_never_retried() {
        let p = Policy::default();
        let o = ProviderKind::Openai;
        assert_eq!(decide(&ProviderError::Auth, o, tried(1, 0), &p, 0.5), Decision::Embedded(Reason::Auth(o)));
        assert_eq!(decide(&ProviderError::Quota, o, tried(1, 0), &p, 0.5), Decision::Embedded(Reason::Quota(o)));
        let refused = ProviderError::Refused { status: 404, message: "model not found".into() };
        assert_eq!(
            decide(&refused, o, tried(1, 0), &p, 0.5),
            Decision::Embedded(Reason::Refused { provider: o, status: 404 })
        );
        assert_eq!(decide(&ProviderError::Cancelled, o, tried(1, 0), &p, 0.5), Decision::Stop);
    }

    #[test]
    fn every_reason_has_a_note_in_both_languages() {
        let reasons = [
            Reason::NoKey(ProviderKind::Openai),
            Reason::Budget(BudgetExceeded::RequestsPerDay { limit: 100 }),
            Reason::RateLimited(ProviderKind::OpenaiCompatible),
            Reason::LocalRateLimit { provider: ProviderKind::Anthropic, retry_in: MS(1200) },
            Reason::Deadline(Duration::from_secs(45)),
            Reason::Auth(ProviderKind::Anthropic),
            Reason::Quota(ProviderKind::Openai),
            Reason::Refused { provider: ProviderKind::Openai, status: 400 },
            Reason::Unreachable { provider: ProviderKind::Openai, error: ProviderError::Server(502) },
        ];
        for reason in reasons {
            let note = reason.note();
            assert_eq!(note.code, reason.code());
            assert!(note.en.len() > 30 && note.fr.len() > 30, "{note:?}");
            assert_ne!(note.en, note.fr);
        }
        let key = Reason::NoKey(ProviderKind::Openai).note();
        assert!(key.en.contains("OPENAI_API_KEY") && key.fr.contains("Pas de clé API pour OpenAI"), "{key:?}");
        let limited = Reason::RateLimited(ProviderKind::OpenaiCompatible).note();
        assert!(limited.en.starts_with("The OpenAI-compatible server is limiting"), "{}", limited.en);
        assert!(limited.fr.starts_with("Le serveur compatible OpenAI limite"), "{}", limited.fr);
        let local = Reason::LocalRateLimit { provider: ProviderKind::Anthropic, retry_in: MS(1200) }.note();
        assert!(local.en.contains("in 2 s") && local.fr.contains("dans 2 s"), "{local:?}");
    }

    #[test]
    fn only_loopback_servers_are_on_this_machine() {
        let local = |url: &str| {
            on_this_machine(&ModelRef {
                provider: ProviderKind::OpenaiCompatible,
                model: "m".into(),
                base_url: Some(url.into()),
            })
        };
        for url in [
            "http://127.0.0.1:8080/v1",
            "http://localhost:11434/v1",
            "http://[::1]:1234/v1",
            "https://127.1.2.3/v1",
            "http://LOCALHOST",
        ] {
            assert!(local(url), "{url}");
        }
        for url in [
            "http://192.168.1.10:8080/v1",
            "https://api.together.xyz/v1",
            "http://localhost.example.com/v1",
            "http://127.0.0.1.example.com/v1",
            "http://user@example.com/127.0.0.1",
        ] {
            assert!(!local(url), "{url}");
        }
        let openai =
            ModelRef { provider: ProviderKind::Openai, model: "m".into(), base_url: Some("http://127.0.0.1".into()) };
        assert!(!on_this_machine(&openai), "a paid provider through a local proxy still costs");
    }

    #[test]
    fn the_generator_is_uniform_enough_for_jitter() {
        let mut s = State {
            cache: ResponseCache::open(Default::default(), None),
            budget: Budget::open(Default::default(), None).0,
            limiter: RateLimiter::new(Default::default()),
            rng: 42,
        };
        let n = 10_000;
        let values: Vec<f64> = (0..n).map(|_| s.next_unit()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        let mean = values.iter().sum::<f64>() / n as f64;
        // Uniform: mean 0.5, standard error sqrt(1/12/n) ≈ 0.0029; 5 standard errors.
        assert!((mean - 0.5).abs() < 0.015, "{mean}");
        let low = values.iter().filter(|&&v| v < 0.1).count();
        assert!((800..1200).contains(&low), "{low} in the lowest tenth");
    }
}
