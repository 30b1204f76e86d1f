//! SLOW (needs `runtime/parachain` built with `--features
//! relay-parent-offset-1`: minutes cold, then cached in
//! `~/.cache/parajam/runtimes`): a runtime that builds one relay block
//! behind the newest (`RelayParentOffset` = 1, as Polkadot's system
//! chains), on the CoreChains service's emulated relay chain
//! (`parajam_corechains_service::relay_chain`):
//!
//! - `parajam pvf check` makes its 20 blocks (transfers and a runtime
//!   upgrade), each carrying the relay parent's header and a descendant,
//!   all identical on wasm and the PVM and enacted;
//! - descendants tampered with (a header out of chain, a wrong state root,
//!   a bad seal, too few headers) are rejected by both engines and nothing
//!   is enacted; the untouched block then is.

use std::process::Command;

use parajam_collator::Header;
use parajam_corechains_service::relay_chain;
use parajam_e2e::{parajam_binary, runtime_parachain, runtime_parachain_dir};
use parajam_rehearsal::{Code, Config, LegacyVerdict, PvmVerdict, Rehearsal};
use parity_scale_codec::{Decode, Encode};

const FEATURE: &str = "relay-parent-offset-1";

/// runtime/parachain built with the offset-1 feature.
fn code() -> Code {
    runtime_parachain(&[FEATURE])
}

#[test]
fn slow_the_plain_runtime_builds_on_the_newest_relay_parent_without_headers() {
    let r = Rehearsal::new(runtime_parachain(&[]), Config::default()).expect("a rehearsal");
    assert_eq!(
        r.collator()
            .relay_parent_offset(r.parent())
            .expect("the runtime answers"),
        0
    );
    let relay = r.relay_parent().expect("a relay parent");
    assert_eq!(relay.state.slot, r.chain().state().timeslot);
    assert!(relay.descendants.is_empty());
}

#[test]
fn slow_pvf_check_of_an_offset_one_runtime_enacts_twenty_blocks() {
    let out = Command::new(parajam_binary())
        .args(["pvf", "check", "--runtime"])
        .arg(runtime_parachain_dir())
        .args(["--features", FEATURE, "--upgrade", "self"])
        .output()
        .expect("running parajam pvf check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "20 blocks: 20 identical on wasm and PVM, 20 valid, 20 enacted, 1 code upgrade(s) enacted"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("MIGRATION OK"), "{stdout}");
}

/// The service's emulated header as the collator's header type.
fn relay_header(header: &relay_chain::RelayHeader) -> Header {
    Header::decode(&mut &header.encode()[..]).expect("a relay-chain header")
}

#[test]
fn slow_tampered_relay_parent_descendants_are_rejected_by_both_engines() {
    let mut r = Rehearsal::new(code(), Config::default()).expect("a rehearsal");
    assert_eq!(
        r.collator()
            .relay_parent_offset(r.parent())
            .expect("the runtime answers"),
        1
    );
    let relay = r.relay_parent().expect("a relay parent");
    let now = r.chain().state().timeslot;
    assert_eq!(relay.state.slot + 1, now, "one timeslot behind");
    let original = relay.descendants;
    assert_eq!(original.len(), 2, "the relay parent and one descendant");
    assert_eq!(original[0].state_root.0, relay.state.root());
    assert_eq!(original[1].parent_hash, original[0].hash());

    let transfers = r.transfers(1, 1_000_000_000_000).expect("a transfer");
    let good = r.produce(transfers).expect("a block");
    assert_eq!(good.relay_parent_number, relay.state.slot);
    assert_eq!(good.relay_parent_storage_root, relay.state.root());
    let head = r.stored_head();

    let root = |h: &Header| h.state_root.0;
    let (first, second) = (&original[0], &original[1]);
    // Sealed properly, but not the relay parent's child.
    let out_of_chain = vec![
        first.clone(),
        relay_header(&relay_chain::header([7; 32], second.number, root(second))),
    ];
    // A relay parent of another state, sealed, and its child chained to it.
    let other = relay_chain::header(first.parent_hash.0, first.number, [9; 32]);
    let wrong_root = vec![
        relay_header(&other),
        relay_header(&relay_chain::header(
            other.hash(),
            second.number,
            root(second),
        )),
    ];
    // The descendant's seal altered.
    let mut bad_seal = original.clone();
    if let Some(sp_runtime_seal) = bad_seal[1].digest.logs.last_mut() {
        let mut bytes = sp_runtime_seal.encode();
        if let Some(last) = bytes.last_mut() {
            *last ^= 1;
        }
        *sp_runtime_seal = Decode::decode(&mut &bytes[..]).expect("a digest item");
    }
    let too_few = vec![first.clone()];

    for (what, descendants) in [
        ("a header out of chain", out_of_chain),
        ("a wrong relay-parent state root", wrong_root),
        ("a bad seal", bad_seal),
        ("too few headers", too_few),
    ] {
        assert_ne!(descendants, original, "{what}");
        let mut candidate = good.clone();
        candidate.pov =
            parajam_collator::descendants::tamper_descendants(&good.pov, &original, &descendants)
                .expect("tampers");
        candidate.built = None;
        let report = r.check(&candidate).expect("checked");
        println!("{what}:\n{report}");
        let LegacyVerdict::Invalid(why) = &report.legacy else {
            panic!("{what}: valid on wasm\n{report}");
        };
        // The runtime panics where it checks them (the executor's trace
        // names the function; its message is not kept).
        assert!(why.contains("set_validation_data"), "{what}: {why}");
        assert!(
            matches!(report.pvm, PvmVerdict::Invalid(_)),
            "{what}: {report}"
        );
        assert!(report.identical, "{what}: both reject");
        assert!(!report.enacted, "{what}");
        assert_eq!(r.stored_head(), head, "{what}: nothing enacted");
    }

    // The same block built again (at the current relay parent: the one
    // above is too old by now) is valid and enacted.
    let transfers = r.transfers(1, 1_000_000_000_000).expect("a transfer");
    let good = r.produce(transfers).expect("a block");
    let report = r.check(&good).expect("checked");
    assert!(report.ok() && report.enacted, "{report}");
    assert_eq!(r.parent().number(), 1);
    assert_ne!(r.stored_head(), head);
}
