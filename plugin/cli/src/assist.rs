//! `suggest` and `chat`: the assistant on the command line, over a [`Conversation`] (the
//! dialogue with the assistant plus the settings it changes, its pending proposal and undo).
//!
//! Who answers: `--provider` (with `--model` and `--base-url`) when given, else the tiers of
//! the user's config file (`docs/config.md`), whose default is the embedded engine: with no
//! key and no network, everything works offline.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write as _};
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use clap::{Args, ValueEnum};

use audiocollab_assistant::actions::ChangeSet;
use audiocollab_assistant::brief;
use audiocollab_assistant::engine::MAX_MESSAGE_CHARS;
use audiocollab_assistant::llm::{ModelRef, ProviderKind};
use audiocollab_assistant::names;
use audiocollab_assistant::provider::CancelToken;
use audiocollab_assistant::route::config::{self, Config};
use audiocollab_assistant::route::prices::Prices;
use audiocollab_assistant::route::router::Streamed;
use audiocollab_assistant::route::Paths;
use audiocollab_assistant::session::{Answerer, Assistant, Conversation, TextSink, Turn};
use audiocollab_assistant::verify;
use audiocollab_core::analysis::track::{self, AnalyzeOptions, TrackAnalysis};
use audiocollab_core::lang::Lang;
use audiocollab_core::offline;
use audiocollab_core::spec::Settings;
use audiocollab_core::text;
use audiocollab_core::untrusted::{self, Line};

use crate::analyze::analyse_file;
use crate::{print_stdout, Failure, LangArg, TargetArgs, EXIT_INPUT, EXIT_OK, EXIT_OTHER};

/// Usage errors of the provider options: exit code 2, like clap's.
const EXIT_USAGE: u8 = 2;

#[derive(Args)]
pub struct ProviderArgs {
    /// Who answers: the embedded engine (offline, no key), OpenAI, Anthropic, or an
    /// OpenAI-compatible server (llama.cpp, Ollama, LM Studio, vLLM). Without it, the tiers of
    /// your config file decide (docs/config.md); by default, the embedded engine.
    #[arg(long, value_enum, value_name = "PROVIDER")]
    pub provider: Option<ProviderArg>,
    /// The server's base URL, e.g. http://127.0.0.1:8080/v1 (implies --provider
    /// openai-compatible when no provider is given).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// The model name (defaults: gpt-4o-mini for OpenAI, claude-sonnet-4-5 for Anthropic,
    /// "local" for an OpenAI-compatible server, which serves its own).
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    /// The embedded engine: offline, no key, nothing sent
    Embedded,
    /// OpenAI (OPENAI_API_KEY)
    Openai,
    /// Anthropic (ANTHROPIC_API_KEY)
    Anthropic,
    /// An OpenAI-compatible server at --base-url
    OpenaiCompatible,
}

#[derive(Args)]
pub struct SuggestArgs {
    /// Audio file: WAV, AIFF, FLAC, MP3 or Ogg Vorbis, mono or stereo.
    pub file: PathBuf,
    /// Print the proposal as JSON (the assistant's reply format, `assets/schema/reply.schema.json`),
    /// ready for `audiocollab render FILE OUT --apply changes.json`.
    #[arg(long)]
    pub json: bool,
    /// Also write what checking the proposal on the audio measured (each move kept, resized
    /// or dropped, with its predicted and measured effects) to FILE, as JSON.
    #[arg(long, value_name = "FILE")]
    pub checked: Option<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Language of the explanations.
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    pub lang: LangArg,
    #[command(flatten)]
    pub provider: ProviderArgs,
}

#[derive(Args)]
pub struct ChatArgs {
    /// Audio file to talk about: WAV, AIFF, FLAC, MP3 or Ogg Vorbis, mono or stereo.
    pub file: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Answer in this language (default: the language of each message).
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,
    #[command(flatten)]
    pub provider: ProviderArgs,
}

/// The assistant the options ask for: `None` for the embedded engine alone.
fn assistant(args: &ProviderArgs) -> Result<Option<Assistant>, Failure> {
    let usage = |message: String| Failure::new(EXIT_USAGE, anyhow!(message));
    let paths = Paths::system();
    let loaded = match &paths {
        Some(paths) => config::load(paths),
        None => config::parse("", "defaults", &|name| std::env::var(name).ok()),
    };
    if let Some(e) = &loaded.error {
        eprintln!("warning: {e}");
    }
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let mut config: Config = loaded.config;
    let provider = match (args.provider, &args.base_url) {
        (Some(p), _) => Some(p),
        (None, Some(_)) => Some(ProviderArg::OpenaiCompatible),
        (None, None) if args.model.is_some() => {
            return Err(usage("--model needs --provider (or --base-url for a server of your own)".into()))
        }
        (None, None) => None,
    };
    if let Some(p) = provider {
        let (kind, default_model) = match p {
            ProviderArg::Embedded => (ProviderKind::Embedded, ""),
            ProviderArg::Openai => (ProviderKind::Openai, "gpt-4o-mini"),
            ProviderArg::Anthropic => (ProviderKind::Anthropic, "claude-sonnet-4-5"),
            ProviderArg::OpenaiCompatible => (ProviderKind::OpenaiCompatible, "local"),
        };
        if kind == ProviderKind::OpenaiCompatible && args.base_url.is_none() {
            return Err(usage(
                "--provider openai-compatible needs --base-url, e.g. --base-url http://127.0.0.1:8080/v1".into(),
            ));
        }
        if kind == ProviderKind::Embedded && (args.base_url.is_some() || args.model.is_some()) {
            return Err(usage("--provider embedded takes no --model or --base-url".into()));
        }
        let model = args.model.clone().unwrap_or_else(|| default_model.into());
        config.use_model_everywhere(ModelRef { provider: kind, model, base_url: args.base_url.clone() });
    }
    if config.is_offline() {
        return Ok(None);
    }
    let prices = match &paths {
        Some(paths) => {
            let (prices, error) = Prices::load(&paths.config);
            if let Some(e) = error {
                eprintln!("warning: {e}");
            }
            prices
        }
        None => Prices::shipped(),
    };
    Assistant::new(config, prices, paths.as_ref())
        .map(Some)
        .map_err(|e| Failure::new(EXIT_OTHER, anyhow!("cannot start the assistant: {e}")))
}

/// Analyses `file` for a conversation (the timeline kept for questions about a passage; the
/// passage's spectral features are measured again from the file, decoded up to its end, so
/// the audio is never kept).
fn conversation(file: &Path, target: &TargetArgs) -> Result<Conversation, Failure> {
    let options = target.options()?;
    let analysed = analyse_file(file, &options, io::stderr().is_terminal(), false)
        .map_err(|f| Failure::new(EXIT_INPUT, anyhow!("{}", f.message)))?;
    let timeline = analysed.timeline;
    // Proposals are checked on the loudest stretch of the file before they are shown.
    let (from, to) = verify::loudest_window(&timeline, verify::MAX_SECONDS);
    let audio = stretch(file, from, to);
    let (file, segment_options) = (file.to_path_buf(), options.clone());
    let segment = move |from: f64, to: f64| -> Option<TrackAnalysis> {
        let options = AnalyzeOptions { from_s: Some(from), to_s: Some(to), ..segment_options.clone() };
        let features = offline::segment_features(&file, options.from_s, options.to_s).ok()?;
        track::analyze_with_features(&timeline, features.as_ref(), &options).ok()
    };
    let chat = Conversation::new(Some(analysed.analysis), Settings::default()).with_segments(segment);
    Ok(match audio {
        Some((rate, channels)) => chat.with_audio(rate, channels, from),
        None => chat,
    })
}

/// Frames `[from, to)` seconds of `file`, decoded from its start (exact for every format) and
/// keeping only the stretch; `None` when it cannot be read again or has more than two channels
/// (the chain plays mono and stereo).
fn stretch(file: &Path, from: f64, to: f64) -> Option<(u32, Vec<Vec<f32>>)> {
    let mut reader = offline::AudioReader::open(file).ok()?;
    let (rate, channels) = (reader.sample_rate(), reader.channels());
    if !(1..=2).contains(&channels) {
        return None;
    }
    let (a, b) = ((from * f64::from(rate)) as u64, (to * f64::from(rate)).ceil() as u64);
    let mut kept: Vec<Vec<f32>> = vec![Vec::with_capacity((b - a) as usize); channels];
    let mut block = Vec::new();
    while reader.frames_read() < b {
        let start = reader.frames_read();
        block.iter_mut().for_each(Vec::clear);
        if reader.read(&mut block, 4096).ok()? == 0 {
            break;
        }
        let (lo, hi) = (a.max(start), b.min(reader.frames_read()));
        if lo < hi {
            for (out, ch) in kept.iter_mut().zip(&block) {
                let ch: &Vec<f32> = ch;
                out.extend_from_slice(&ch[(lo - start) as usize..(hi - start) as usize]);
            }
        }
    }
    Some((rate, kept))
}

/// `suggest`: analyse, ask, print the proposal (text, or the reply JSON `render --apply` takes).
pub fn suggest(args: SuggestArgs) -> Result<u8, Failure> {
    let assistant = assistant(&args.provider)?;
    let mut chat = conversation(&args.file, &args.target)?;
    let lang = Lang::from(args.lang);
    let stream = !args.json;
    if stream {
        print_stdout(&format!("{}\n\n", args.file.display()))?;
    }
    // A model's answer is always streamed (a slow model then only has to keep talking, not
    // finish within the response timeout); with --json nothing is shown until the end.
    let (mut print, mut quiet) = (print_stream(), |_: Streamed<'_>| {});
    let sink: TextSink<'_> = if stream { &mut print } else { &mut quiet };
    let turn = chat.suggest(lang, assistant.as_ref(), &CancelToken::new(), Some(sink));
    if let Some(note) = &turn.note {
        eprintln!("note: {note}");
    }
    if let Some(path) = &args.checked {
        let report = turn.checked.clone().unwrap_or_default();
        let json = serde_json::to_string_pretty(&report).map_err(|e| Failure::new(EXIT_OTHER, anyhow!(e)))?;
        std::fs::write(path, json + "\n")
            .map_err(|e| Failure::new(EXIT_OTHER, anyhow!("cannot write '{}': {e}", path.display())))?;
    }
    if args.json {
        // The reply schema's form, unchanged: what the check measured is in each change's
        // reason and at the end of the message; `--checked FILE` has it as data.
        let mut message = turn.message.clone();
        checks(&mut message, &turn, lang);
        let reply = turn.changes.to_wire(message.trim_end().to_string());
        let json = serde_json::to_string_pretty(&reply).map_err(|e| Failure::new(EXIT_OTHER, anyhow!(e)))?;
        for r in &turn.rejected {
            eprintln!("warning: refused {}: {}", r.param, r.reason);
        }
        print_stdout(&format!("{json}\n"))?;
        return Ok(EXIT_OK);
    }
    let mut text = String::new();
    if !turn.streamed {
        text.push_str(&turn.message);
    }
    text.push('\n');
    if !turn.changes.is_empty() {
        text.push_str(match lang {
            Lang::En => "\nProposed changes:\n",
            Lang::Fr => "\nRéglages proposés :\n",
        });
        changes_list(&mut text, &turn.changes, lang);
        let file = args.file.display();
        let _ = writeln!(
            text,
            "\n{} audiocollab suggest {file} --json > changes.json && audiocollab render {file} out.wav --apply changes.json",
            match lang {
                Lang::En => "To hear it:",
                Lang::Fr => "Pour l'écouter :",
            },
        );
    }
    refusals(&mut text, &turn, lang);
    checks(&mut text, &turn, lang);
    let _ = writeln!(text, "{}", signature(&turn, lang));
    print_stdout(&text)?;
    Ok(EXIT_OK)
}

/// `chat`: a conversation on stdin/stdout.
pub fn chat(args: ChatArgs) -> Result<u8, Failure> {
    let assistant = assistant(&args.provider)?;
    let mut chat = conversation(&args.file, &args.target)?;
    let fixed = args.lang.map(Lang::from);
    chat.set_lang(fixed);
    let mut lang = fixed.unwrap_or_default();
    let interactive = io::stdin().is_terminal();
    print_stdout(&greeting(&args.file, chat.analysis(), assistant.as_ref(), lang))?;

    let stdin = io::stdin();
    let mut input = stdin.lock();
    let (mut buf, mut number) = (Vec::new(), 0u64);
    loop {
        if interactive {
            print_stdout("> ")?;
            let _ = io::stdout().flush();
        }
        let read = untrusted::read_line(&mut input, &mut buf, MAX_LINE_BYTES)
            .map_err(|e| Failure::new(EXIT_INPUT, anyhow!("cannot read the conversation: {e}")))?;
        let Some(read) = read else { break };
        number += 1;
        // A stray byte (a paste from another encoding) must not end the session and lose what
        // was applied: it is replaced, and said. A line too long is cut here and refused below.
        let line = String::from_utf8_lossy(&buf);
        if matches!(line, Cow::Owned(_)) && read == Line::Whole {
            eprintln!(
                "warning: line {number} is not valid UTF-8: its invalid bytes were replaced by U+FFFD (\u{fffd})"
            );
        }
        let words = line.trim();
        if words.is_empty() {
            continue;
        }
        if fixed.is_none() {
            if let Some(guess) = audiocollab_core::lang::guess(words) {
                lang = guess;
            }
        }
        let out = match meta(words) {
            Some(Meta::Quit) => break,
            Some(Meta::Help) => help(lang),
            Some(Meta::Apply) => match chat.apply_pending(assistant.as_ref()) {
                Some(set) => said(lang, "Applied:", "Appliqué :", set),
                None => t(lang, "Nothing to apply.\n", "Rien à appliquer.\n"),
            },
            Some(Meta::Reject) => match chat.reject_pending() {
                Some(_) => t(lang, "Proposal dropped.\n", "Proposition abandonnée.\n"),
                None => t(lang, "Nothing proposed.\n", "Rien de proposé.\n"),
            },
            Some(Meta::Undo) => match chat.undo(assistant.as_ref()) {
                Some(set) => said(lang, "Undone:", "Annulé :", &set.inverse()),
                None => t(lang, "Nothing to undo.\n", "Rien à annuler.\n"),
            },
            Some(Meta::Redo) => match chat.redo(assistant.as_ref()) {
                Some(set) => said(lang, "Redone:", "Rétabli :", set),
                None => t(lang, "Nothing to redo.\n", "Rien à rétablir.\n"),
            },
            Some(Meta::Settings) => settings_text(chat.settings(), &args.file, lang),
            None => {
                print_stdout(t(lang, "assistant: ", "assistant : ").as_str())?;
                let mut print = print_stream();
                let turn = chat.ask(words, assistant.as_ref(), &CancelToken::new(), Some(&mut print));
                turn_text(&turn, chat.pending().is_some(), lang)
            }
        };
        print_stdout(&out)?;
        let _ = io::stdout().flush();
    }
    Ok(EXIT_OK)
}

/// Longest line of the conversation read, bytes: room for the longest message the assistant
/// reads ([`MAX_MESSAGE_CHARS`] characters, up to four bytes each) and one character more, so
/// a longer line reaches the assistant long enough to be refused with its message.
const MAX_LINE_BYTES: usize = 4 * (MAX_MESSAGE_CHARS + 1);

/// Prints streamed text as it comes.
fn print_stream() -> impl FnMut(Streamed<'_>) + Send {
    |event| {
        let mut out = io::stdout().lock();
        // A closed stdout only loses the display.
        let _ = match event {
            Streamed::Text(text) => out.write_all(text.as_bytes()),
            Streamed::Restart => out.write_all(b"\n(retrying...)\n"),
        };
        let _ = out.flush();
    }
}

/// Chat commands that are not for the assistant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Meta {
    Quit,
    Help,
    Apply,
    Reject,
    Undo,
    Redo,
    Settings,
}

/// The command `words` is, if it is one: `/apply` and friends, or the plain words a musician
/// would type alone on the line ("applique", "oui", "undo", "annule").
fn meta(words: &str) -> Option<Meta> {
    let w = words.trim().trim_end_matches(['!', '.']).trim().to_lowercase();
    let w = w.strip_prefix('/').unwrap_or(&w);
    Some(match w {
        "quit" | "exit" | "q" | "bye" | "quitter" | "au revoir" => Meta::Quit,
        "help" | "aide" | "?" => Meta::Help,
        "apply" | "applique" | "appliquer" | "applique-le" | "oui" | "yes" | "ok" | "vas-y" | "go" => Meta::Apply,
        "reject" | "non" | "no" | "rejette" | "refuse" => Meta::Reject,
        "undo" | "annule" | "annuler" | "défais" => Meta::Undo,
        "redo" | "rétablis" | "rétablir" | "refais" => Meta::Redo,
        "settings" | "réglages" | "reglages" | "params" => Meta::Settings,
        _ => return None,
    })
}

fn t(lang: Lang, en: &str, fr: &str) -> String {
    match lang {
        Lang::En => en.into(),
        Lang::Fr => fr.into(),
    }
}

fn greeting(file: &Path, analysis: Option<&TrackAnalysis>, assistant: Option<&Assistant>, lang: Lang) -> String {
    let mut out = String::new();
    let _ = write!(out, "{}", file.display());
    if let Some(a) = analysis {
        let mut facts: Vec<String> = Vec::new();
        if let Some(k) = &a.key {
            facts.push(crate::report::key_name(k.tonic, k.mode, lang, &k.name));
        }
        if let Some(tempo) = &a.tempo {
            facts.push(format!("{} BPM", text::number(tempo.bpm, 0, lang)));
        }
        if let Some(l) = a.loudness.integrated_lufs {
            facts.push(format!("{} LUFS", text::number(l, 1, lang)));
        }
        facts.push(match (lang, a.findings.len()) {
            (Lang::En, 1) => "1 finding".into(),
            (Lang::En, n) => format!("{n} findings"),
            (Lang::Fr, n) => format!("{n} constat{}", if n > 1 { "s" } else { "" }),
        });
        let _ = write!(out, "{}{}", lang.colon(), facts.join(", "));
    }
    let who = match assistant.and_then(|a| {
        a.router().config().model_for(a.router().config().tier_for(audiocollab_assistant::llm::Task::Chat))
    }) {
        Some(m) => format!("{} ({})", m.model, m.provider),
        None => t(lang, "the embedded engine (offline)", "le moteur intégré (hors ligne)"),
    };
    let _ = writeln!(
        out,
        "\n{}",
        match lang {
            Lang::En => format!("Answering: {who}. Ask anything, in French or English; /help lists the commands."),
            Lang::Fr =>
                format!("Réponses : {who}. Posez vos questions en français ou en anglais ; /aide liste les commandes."),
        }
    );
    out
}

fn help(lang: Lang) -> String {
    t(
        lang,
        "Talk about the track: \"what's the BPM?\", \"what's wrong at 1:45?\", \"raise the treble by 2 dB\", \"brighter vocals\", \"how do I de-ess?\".\n\
         Direct commands apply at once; other proposals wait for you:\n\
         \x20 /apply (or: apply, yes, ok)   apply the proposal\n\
         \x20 /reject (or: no)               drop it\n\
         \x20 /undo, /redo                    walk the history of applied changes\n\
         \x20 /settings                       the settings now, and the command that renders them\n\
         \x20 /quit                           leave (Ctrl-D too)\n",
        "Parlez du morceau : « quel est le BPM ? », « qu'est-ce qui ne va pas à 1:45 ? », « monte les aigus de 2 dB », « voix plus claires », « comment dé-esser ? ».\n\
         Les commandes directes s'appliquent tout de suite ; les autres propositions vous attendent :\n\
         \x20 /applique (ou : oui, ok)       appliquer la proposition\n\
         \x20 /non                            l'abandonner\n\
         \x20 /annule, /rétablis              parcourir l'historique des réglages\n\
         \x20 /réglages                       les réglages actuels, et la commande qui les rend\n\
         \x20 /quitter                        sortir (Ctrl-D aussi)\n",
    )
}

fn changes_list(out: &mut String, set: &ChangeSet, lang: Lang) {
    for c in set.changes() {
        let adjusted = if c.adjustments.is_empty() { String::new() } else { t(lang, " (adjusted)", " (ajusté)") };
        let _ = writeln!(out, "  {}{adjusted}  — {}", c.describe(lang), c.reason);
    }
}

fn said(lang: Lang, en: &str, fr: &str, set: &ChangeSet) -> String {
    let mut out = format!("{}\n", t(lang, en, fr));
    changes_list(&mut out, set, lang);
    out
}

fn refusals(out: &mut String, turn: &Turn, lang: Lang) {
    for r in &turn.rejected {
        let _ = writeln!(out, "  {} {}: {}", t(lang, "refused", "refusé"), r.param, r.reason);
    }
}

/// What checking the proposal on the audio measured.
fn checks(out: &mut String, turn: &Turn, lang: Lang) {
    if let Some(report) = &turn.checked {
        let summary = verify::summary(report, lang);
        if !summary.is_empty() {
            let _ = writeln!(out, "\n{summary}");
        }
    }
}

/// Who answered, what it cost.
fn signature(turn: &Turn, lang: Lang) -> String {
    match &turn.by {
        Answerer::Engine => format!("[{}]", t(lang, "embedded engine", "moteur intégré")),
        Answerer::Model { model, cached, usage, usd } => {
            let cost = if *cached {
                t(lang, "from the cache, free", "depuis le cache, gratuit")
            } else {
                format!("{}+{} tokens, ${usd:.4}", usage.input_tokens, usage.output_tokens)
            };
            format!("[{} · {} · {cost}]", model.model, model.provider)
        }
    }
}

fn turn_text(turn: &Turn, pending: bool, lang: Lang) -> String {
    let mut out = String::new();
    if turn.cancelled {
        return t(lang, "(cancelled)\n", "(annulé)\n");
    }
    if !turn.streamed {
        out.push_str(&turn.message);
    }
    out.push('\n');
    if !turn.changes.is_empty() {
        if turn.command {
            out.push_str(&t(lang, "Applied:\n", "Appliqué :\n"));
        } else {
            out.push_str(&t(lang, "Proposed:\n", "Proposé :\n"));
        }
        changes_list(&mut out, &turn.changes, lang);
        if !turn.command && pending {
            out.push_str(&t(
                lang,
                "→ /apply to apply it, /reject to drop it.\n",
                "→ /applique pour l'appliquer, /non pour l'abandonner.\n",
            ));
        }
    }
    refusals(&mut out, turn, lang);
    checks(&mut out, turn, lang);
    if let Some(note) = &turn.note {
        let _ = writeln!(out, "({note})");
    }
    let _ = writeln!(out, "{}", signature(turn, lang));
    out
}

/// The settings now, and the `render` command that applies them to the file.
fn settings_text(settings: &Settings, file: &Path, lang: Lang) -> String {
    let mut out = match lang {
        Lang::En => brief::settings_line(settings),
        Lang::Fr => {
            let changed: Vec<String> = settings
                .changed()
                .map(|(p, v)| format!("{} : {}", names::display_name(p, lang), p.spec().format_in(v, lang)))
                .collect();
            if changed.is_empty() {
                "Réglages actuels : tous par défaut (égaliseur à plat, compresseur et de-esser désactivés, gains à 0 dB).\n"
                    .into()
            } else {
                format!("Réglages actuels (les autres par défaut) : {}.\n", changed.join(" ; "))
            }
        }
    };
    let sets: Vec<String> = settings
        .changed()
        .map(|(p, v)| format!("--set {}={}", p.spec().id, p.spec().format(v).replace(' ', "")))
        .collect();
    if !sets.is_empty() {
        let _ = writeln!(
            out,
            "{} audiocollab render {} out.wav {}",
            t(lang, "To hear it:", "Pour l'écouter :"),
            file.display(),
            sets.join(" ")
        );
    }
    out
}
