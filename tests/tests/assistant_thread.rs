//! The plugin's assistant thread (`Desk`) and chat panel survive a panic in one turn: the
//! window says the turn failed, the embedded engine answers it, and the next turn goes to the
//! model again. The panic is real: a tap on the streamed text panics once, in the middle of a
//! model's answer, deep inside the router and the HTTP client on the thread's tokio runtime.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use audiocollab::panel::{ChatLog, Panel};
use audiocollab_assistant::desk::{Desk, Tap};
use audiocollab_assistant::engine::{respond, Context};
use audiocollab_assistant::route::Paths;
use audiocollab_core::lang::Lang;
use audiocollab_core::spec::Settings;
use integration::cli::TempDir;
use integration::fake_llm::{FakeLlm, Reply, Wire};

const REPLY: &str = r#"{"message": "Il y a trop de 250 Hz : je creuse un peu.", "changes": [{"param": "b1_gain", "value": null, "delta": -3, "reason": "bas-médium chargé", "evidence": null}]}"#;

/// A fake OpenAI-compatible server on a thread of its own, streaming `REPLY` in pieces.
fn serve() -> FakeLlm {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let chars: Vec<char> = REPLY.chars().collect();
            let pieces = chars.chunks(9).map(|c| c.iter().collect()).collect();
            tx.send(FakeLlm::start(Wire::OpenAi, None, vec![Reply::Text(pieces)]).await).expect("send");
            std::future::pending::<()>().await
        })
    });
    rx.recv().expect("the fake server started")
}

fn wait(panel: &mut Panel, desk: &Desk) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while panel.is_waiting() {
        assert!(Instant::now() < deadline, "no answer from the assistant thread");
        std::thread::sleep(Duration::from_millis(10));
        panel.poll(desk, None);
    }
}

#[test]
fn a_panic_in_a_turn_is_reported_the_engine_answers_and_the_next_turn_works() {
    let fake = serve();
    let home = TempDir::new("desk-panic");
    let paths = Paths::under(home.root());
    std::fs::create_dir_all(&paths.config).unwrap();
    let config = format!(
        "[tasks]\nchat = \"cheap\"\n\n[tiers.cheap]\nprovider = \"openai-compatible\"\nmodel = \"tiny\"\nbase_url = \"{}\"\n",
        fake.base_url()
    );
    std::fs::write(paths.config_file(), config).unwrap();

    // Panics at the third piece of streamed text of the first answer only.
    let pieces = Arc::new(AtomicUsize::new(0));
    let seen = pieces.clone();
    let tap: Tap = Box::new(move |_text| {
        if seen.fetch_add(1, Ordering::SeqCst) == 2 {
            panic!("injected failure in the middle of a streamed answer");
        }
    });
    let desk = Desk::spawn_tapped(Some(paths), Some(tap)).expect("assistant thread");
    assert_eq!(desk.answering().label, "tiny (openai-compatible)");
    let mut panel = Panel::new(Arc::new(RwLock::new(ChatLog::default())));
    let words = "le mix est boueux, tu proposes quoi ?";

    panel.input = words.into();
    assert!(panel.send(&desk, Settings::default(), None));
    wait(&mut panel, &desk);
    let failed = &panel.entries()[1];
    println!("{failed:#?}");
    assert_eq!(failed.by, "embedded engine");
    assert_eq!(
        failed.note.as_deref(),
        Some(
            "Ce tour a échoué (une erreur interne : injected failure in the middle of a streamed answer) ; \
             le moteur intégré a répondu à la place."
        )
    );
    // The engine's own answer to those words, and nothing of the model's broken one.
    let settings = Settings::default();
    let ctx = Context { analysis: None, segment: None, settings: &settings, lang: Some(Lang::Fr) };
    assert_eq!(failed.text, respond(words, &ctx).reply.message);
    assert!(panel.streaming().is_none() && !panel.is_waiting());
    assert!(pieces.load(Ordering::SeqCst) >= 3, "the panic came mid-stream");

    // The next turn: the thread is alive, the model side rebuilt, the model answers.
    panel.input = words.into();
    assert!(panel.send(&desk, Settings::default(), None));
    wait(&mut panel, &desk);
    let entries = panel.entries();
    assert_eq!(entries.len(), 4);
    let next = &entries[3];
    println!("{next:#?}");
    assert_eq!(next.by, "tiny · openai-compatible");
    assert_eq!(next.text, "Il y a trop de 250 Hz : je creuse un peu.");
    assert_eq!(next.note, None);
    assert_eq!(
        next.cards.iter().map(|c| (c.change().param.spec().id, c.change().to)).collect::<Vec<_>>(),
        [("b1_gain", -3.0)]
    );
    assert_eq!(fake.requests().len(), 2, "the failed answer was not cached; the next went to the model");
}
