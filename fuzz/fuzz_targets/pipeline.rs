//! Fuzz target: any bytes as a scenario, through parsing, planning and rendering every
//! target. Invalid input must give diagnostics; a valid plan must always render. Any panic
//! is a bug. Run: see README "Security" (cargo fuzz run pipeline).

#![no_main]

use std::sync::OnceLock;

use amlfw::catalog::Catalog;
use amlfw::render::{Target, render};
use libfuzzer_sys::fuzz_target;

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(Catalog::embedded)
}

fuzz_target!(|data: &[u8]| {
    let catalog = catalog();
    let Ok(scenario) = amlfw::scenario::load_bytes(data, "fuzz.yaml", catalog) else {
        return;
    };
    let Ok(plan) = amlfw::planner::plan(&scenario, catalog) else {
        return;
    };
    for target in [Target::All, Target::Allowlist] {
        if let Err(error) = render(&plan, target, "fuzz.yaml") {
            panic!("a valid plan failed to render: {error}");
        }
    }
});
