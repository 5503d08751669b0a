//! Fuzz target: any bytes as a scenario, through parsing, planning and rendering every
//! target. Invalid input must give diagnostics that print; a valid plan must always
//! render. Any panic is a bug. Run: see README "Security" (`bash fuzz/run.sh 600`).

#![no_main]

use std::sync::OnceLock;

use amlfw::catalog::Catalog;
use amlfw::diagnostic::render_all;
use amlfw::render::{Target, render};
use libfuzzer_sys::fuzz_target;

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(Catalog::embedded)
}

fuzz_target!(|data: &[u8]| {
    let catalog = catalog();
    let scenario = match amlfw::scenario::load_bytes(data, "fuzz.yaml", catalog) {
        Ok(scenario) => scenario,
        Err(diagnostics) => {
            // Printing cuts and escapes echoed source lines: it must not panic either,
            // and it must not let control characters reach the terminal.
            let text = render_all(&diagnostics, "the scenario");
            assert!(
                !text.chars().any(|c| c == '\u{1b}'),
                "an escape character reached the terminal text"
            );
            return;
        }
    };
    let plan = match amlfw::planner::plan(&scenario, catalog) {
        Ok(plan) => plan,
        Err(diagnostics) => {
            let _ = render_all(&diagnostics, "the scenario");
            return;
        }
    };
    let _ = (plan.to_string(), plan.to_json());
    for target in [Target::All, Target::Allowlist] {
        if let Err(error) = render(&plan, target, "fuzz.yaml") {
            panic!("a valid plan failed to render: {error}");
        }
    }
});
