//! Random corruption of real blocks never panics the importer: a mutated
//! block either fails to decode, is rejected with an error (the chain's
//! state and head unchanged), or imports as a valid block would.

use std::sync::{Mutex, OnceLock};

use jam_codec::Encode;
use parajam_chain::{Chain, ExecutionConfig, SrsSource};
use parajam_primitives::types::Block;
use parajam_primitives::types::TraceStep;
use parajam_primitives::ProtocolParameters;
use parajam_pvm::Backend;
use proptest::prelude::*;

const P: ProtocolParameters = ProtocolParameters::TINY;

/// Trace steps with guarantees, assurances, tickets and preimages.
fn steps() -> &'static Vec<TraceStep> {
    static STEPS: OnceLock<Vec<TraceStep>> = OnceLock::new();
    STEPS.get_or_init(|| {
        let dir = parajam_conformance::locate_vectors().expect("vectors");
        [
            ("storage", 5),
            ("storage", 30),
            ("safrole", 12),
            ("preimages", 8),
            ("fallback", 12),
        ]
        .iter()
        .map(|(family, n)| {
            let path = dir.join(format!("traces/{family}/{n:08}.bin"));
            let bytes = std::fs::read(&path).expect("trace step");
            parajam_primitives::decode(&bytes, &P).expect("decodes")
        })
        .collect()
    })
}

fn chain() -> &'static Mutex<Chain> {
    static CHAIN: OnceLock<Mutex<Chain>> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let srs = SrsSource::Embedded;
        let exec = ExecutionConfig {
            backend: Backend::Interpreter,
            crosscheck: false,
        };
        Mutex::new(Chain::new(P, exec, &srs).expect("chain"))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn corrupted_blocks_are_errors_not_panics(
        which in 0usize..5,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let step = &steps()[which];
        let mut bytes = step.block.encode();
        for (at, x) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        let Ok(block) = parajam_primitives::decode::<Block>(&bytes, &P) else {
            return Ok(());
        };
        let mut chain = chain().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let root = chain
            .set_state(step.block.header.parent, &step.pre_state.keyvals, None)
            .expect("pre-state");
        prop_assert_eq!(root, step.pre_state.state_root);
        if let Ok(root) = chain.import(&block) {
            // Only a mutation that changes nothing the block commits to
            // can import, and then to the trace's own root.
            prop_assert_eq!(root, step.post_state.state_root);
        } else {
            let head = chain.head().map(|(_, r)| r);
            prop_assert_eq!(head, Some(step.pre_state.state_root));
        }
    }
}
