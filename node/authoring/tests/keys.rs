//! Dev keys are JIP-5's: the JIP's test vectors, and the validators of the
//! conformance traces' genesis.

#![allow(clippy::unwrap_used)]

use parajam_authoring::{trivial_seed, DevKeys, Genesis, ValidatorSecrets};
use parajam_primitives::types::Genesis as TraceGenesis;
use parajam_primitives::ProtocolParameters;
use parajam_state::State;

mod common;

fn hex(s: &str) -> [u8; 32] {
    let bytes: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    bytes.try_into().unwrap()
}

#[test]
fn trivial_seeds_repeat_the_index() {
    assert_eq!(trivial_seed(0), [0; 32]);
    assert_eq!(
        trivial_seed(1),
        hex("0100000001000000010000000100000001000000010000000100000001000000")
    );
    assert_eq!(&trivial_seed(0x0403_0201)[28..], &[1, 2, 3, 4]);
}

/// JIP-5's test vectors: `(seed, ed25519_public, bandersnatch_public)`.
#[test]
fn jip5_test_vectors() {
    let cases = [
        (
            trivial_seed(0),
            "4418fb8c85bb3985394a8c2756d3643457ce614546202a2f50b093d762499ace",
            "ff71c6c03ff88adb5ed52c9681de1629a54e702fc14729f6b50d2f0a76f185b3",
        ),
        (
            trivial_seed(1),
            "ad93247bd01307550ec7acd757ce6fb805fcf73db364063265b30a949e90d933",
            "dee6d555b82024f1ccf8a1e37e60fa60fd40b1958c4bb3006af78647950e1b91",
        ),
        (
            trivial_seed(2),
            "cab2b9ff25c2410fbe9b8a717abb298c716a03983c98ceb4def2087500b8e341",
            "9326edb21e5541717fde24ec085000b28709847b8aab1ac51f84e94b37ca1b66",
        ),
        (
            trivial_seed(3),
            "f30aa5444688b3cab47697b37d5cac5707bb3289e986b19b17db437206931a8d",
            "0746846d17469fb2f95ef365efcab9f4e22fa1feb53111c995376be8019981cc",
        ),
        (
            trivial_seed(4),
            "8b8c5d436f92ecf605421e873a99ec528761eb52a88a2f9a057b3b3003e6f32a",
            "151e5c8fe2b9d8a606966a79edd2f9e5db47e83947ce368ccba53bf6ba20a40b",
        ),
        (
            trivial_seed(5),
            "ab0084d01534b31c1dd87c81645fd762482a90027754041ca1b56133d0466c06",
            "2105650944fcd101621fd5bb3124c9fd191d114b7ad936c1d79d734f9f21392e",
        ),
        (
            hex("f92d680ea3f0ac06307795490d8a03c5c0d4572b5e0a8cffec87e1294855d9d1"),
            "11a695f674de95ff3daaff9a5b88c18448b10156bf88bc04200e48d5155c7243",
            "299bdfd8d615aadd9e6c58718f9893a5144d60e897bc9da1f3d73c935715c650",
        ),
    ];
    for (seed, ed25519, bandersnatch) in cases {
        let v = ValidatorSecrets::from_seed(seed);
        assert_eq!(v.ed25519_public().0, hex(ed25519), "ed25519 of {seed:?}");
        assert_eq!(
            v.bandersnatch_public().0,
            hex(bandersnatch),
            "bandersnatch of {seed:?}"
        );
    }
}

#[test]
fn trace_genesis_validators_are_the_dev_validators() {
    let params = ProtocolParameters::TINY;
    let bytes = std::fs::read(parajam_vectors::dir().join("traces/fallback/genesis.bin")).unwrap();
    let trace: TraceGenesis = parajam_primitives::decode(&bytes, &params).unwrap();
    let state = State::from_key_values(&trace.state.keyvals, &params).unwrap();
    let keys = DevKeys::new(params.validators_count);
    for (i, k) in state.active_validators.iter().enumerate() {
        let dev = keys.get(i).unwrap().public();
        assert_eq!(k.bandersnatch, dev.bandersnatch, "validator {i}");
        assert_eq!(k.ed25519, dev.ed25519, "validator {i}");
    }
    // Our genesis from the same keys and entropy has the trace's γ_z and γ_s.
    let ring = common::ring(usize::from(params.validators_count));
    let ours = Genesis {
        entropy: state.entropy,
        ..Genesis::new(&params, keys.validators())
    }
    .build(&params, &ring)
    .unwrap();
    assert_eq!(ours.safrole.epoch_root, state.safrole.epoch_root);
    // The trace's γ_s is not F(η_2, κ) of its genesis η (it was made from
    // other entropy); ours is the paper's fallback sequence.
    // Recent history holds the genesis header, as the trace's does.
    assert_eq!(ours.recent_blocks.history.len(), 1);
    assert_eq!(
        ours.recent_blocks.history[0].header_hash,
        parajam_stf::header::header_hash(&parajam_authoring::genesis_header(&ours))
    );
    assert_eq!(
        state.recent_blocks.history[0].header_hash,
        parajam_stf::header::header_hash(&trace.header)
    );
    assert_eq!(
        ours.recent_blocks.history[0].beefy_root,
        state.recent_blocks.history[0].beefy_root
    );
    assert_eq!(ours.recent_blocks.mmr, state.recent_blocks.mmr);
}
