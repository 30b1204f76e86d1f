//! SLOW (the runtime builds: tens of minutes cold on 2 cores for both
//! variants, a second warm from `~/.cache/parajam/runtimes`; then about a
//! minute of blocks): `runtime/parachain`, a real cumulus runtime, on a
//! JAM dev chain through the CoreChains service (`parajam-rehearsal`),
//! against the relay chain's own PVF executor on the same blocks: 20
//! blocks with transfers and a runtime upgrade (v1 to v2, through
//! frame-system's authorize/apply path and parachain-system), all identical
//! on both engines and enacted by accumulate; and bad blocks rejected by
//! both and not enacted.

use parajam_e2e::runtime_parachain;

use parajam_collator::{dev_pair, system_account_key, ParaState};
use parajam_corechains_service::relay_state::UpgradeSignal;
use parajam_rehearsal::{BlockReport, Config, LegacyVerdict, PvmVerdict, Rehearsal, Summary};
use parity_scale_codec::Decode;
use sp_core::Pair as _;

/// One unit of runtime/parachain's currency.
const UNIT: u128 = 1_000_000_000_000;

/// The free balance of `account` in `state`.
fn free(state: &ParaState, account: &[u8; 32]) -> u128 {
    let raw = state
        .storage(&system_account_key(account))
        .expect("state reads")
        .expect("the account exists");
    let (_, _, _, _, free): (u32, u32, u32, u32, u128) =
        Decode::decode(&mut raw.as_slice()).expect("AccountInfo decodes");
    free
}

fn spec_version(r: &Rehearsal) -> u32 {
    let runtime = r
        .collator()
        .runtime_at(r.parent())
        .expect("the runtime loads");
    runtime.runtime.version().spec_version
}

fn assert_ok(report: &BlockReport) {
    assert!(matches!(report.legacy, LegacyVerdict::Valid(_)), "{report}");
    assert!(matches!(report.pvm, PvmVerdict::Valid(_)), "{report}");
    assert!(report.identical, "{report}");
    assert!(report.enacted, "{report}");
    assert!(report.ok(), "{report}");
}

#[test]
fn slow_twenty_blocks_with_transfers_and_a_runtime_upgrade_are_identical_and_enacted() {
    let mut r = Rehearsal::new(runtime_parachain(&[]), Config::default()).expect("a rehearsal");
    let upgraded = runtime_parachain(&["upgraded"])
        .compressed()
        .expect("compresses");
    r.add_build(upgraded.clone())
        .expect("the build is registered");
    assert_eq!(spec_version(&r), 1);

    let alice = dev_pair("Alice").expect("key");
    let bob = dev_pair("Bob").expect("key").public().0;
    let bob_before = free(r.parent(), &bob);
    let mut reports = Vec::new();
    let mut apply = None;
    let mut upgraded_at = None;
    for n in 1..=20u32 {
        let parent = r.parent().clone();
        let collator = r.collator();
        let nonce = collator
            .account_nonce(&parent, &alice.public().0)
            .expect("nonce");
        let mut extrinsics = vec![collator
            .transfer(&parent, &alice, &bob, UNIT, nonce)
            .expect("a transfer")];
        if n == 3 {
            // Sudo authorizes the upgraded runtime (checking its version);
            // the next block applies it, unsigned.
            let (authorize, apply_upgrade) = collator
                .upgrade_extrinsics(&parent, &alice, nonce + 1, &upgraded.wasm, true)
                .expect("upgrade extrinsics");
            extrinsics.push(authorize);
            apply = Some(apply_upgrade);
        } else if n == 4 {
            extrinsics.push(apply.take().expect("authorized in block 3"));
        }
        let candidate = r.produce(extrinsics).expect("a block");
        let built = candidate.built.as_ref().expect("built");
        assert!(
            built.failed_dispatches.is_empty(),
            "block {n}: every extrinsic dispatches"
        );
        assert_eq!(
            candidate.relay_parent_storage_root,
            r.relay_state().expect("relay state").root(),
            "the collator's relay-state proof has the service's root"
        );
        let signal = r.relay_state().expect("relay state").upgrade;
        let report = r.check(&candidate).expect("checked");
        assert_ok(&report);
        assert_eq!(report.number, n);
        if n == 4 {
            let asked = report.new_code.expect("block 4 asks for the new code");
            assert_eq!(asked.code_hash.0, upgraded.wasm_hash());
            assert_eq!(asked.code_len as usize, upgraded.wasm.len());
        } else {
            assert_eq!(report.new_code, None, "block {n}");
        }
        if report.upgrade_enacted {
            // The block that saw the go-ahead applied the new code: it was
            // validated with the old one, and the next runs the new one.
            assert_eq!(signal, Some(UpgradeSignal::GoAhead));
            assert_eq!(upgraded_at, None, "one upgrade");
            upgraded_at = Some(n);
            assert_eq!(r.current_code(), Some(upgraded.pvf_hash()));
            assert_eq!(spec_version(&r), 2);
        } else if n > 4 && upgraded_at.is_none() {
            assert_eq!(signal, Some(UpgradeSignal::Restricted), "block {n}");
        }
        reports.push(report);
    }
    let upgraded_at = upgraded_at.expect("the upgrade was enacted");
    assert!(upgraded_at < 20, "blocks ran on the upgraded runtime");
    assert_eq!(r.parent().number(), 20);
    assert_eq!(r.stored_head(), Some(r.parent().head()));
    assert_eq!(free(r.parent(), &bob), bob_before + 20 * UNIT);
    let summary = Summary::of(&reports);
    assert!(summary.all_ok(), "{summary}");
    assert_eq!(summary.upgrades, 1);
    for report in &reports {
        println!("{report}");
    }
    println!("{summary}");
}

/// Bad input: a PoV with a broken storage proof, a bad aura seal, a block
/// whose parent head is wrong, a block on which the runtime panics. Both
/// engines reject each, the report says why, nothing is enacted; the
/// untouched block then is.
#[test]
fn slow_bad_blocks_are_rejected_by_both_engines_and_not_enacted() {
    let mut r = Rehearsal::new(runtime_parachain(&[]), Config::default()).expect("a rehearsal");
    let transfers = r.transfers(1, UNIT).expect("a transfer");
    let good = r.produce(transfers).expect("a block");
    let head = r.stored_head();
    let bob = dev_pair("Bob").expect("key");
    let tampered = |what: &str, pov: Vec<u8>| {
        let mut c = good.clone();
        c.pov = pov;
        c.built = None;
        (what.to_owned(), c)
    };
    let mut wrong_parent = good.clone();
    wrong_parent.parent_head[40] ^= 1;
    let cases = [
        tampered(
            "a proof node missing",
            parajam_collator::tamper::drop_proof_node(&good.pov).expect("tampers"),
        ),
        tampered(
            "a proof node altered",
            parajam_collator::tamper::alter_proof_node(&good.pov).expect("tampers"),
        ),
        tampered(
            "a seal by a non-authority",
            parajam_collator::tamper::reseal(&good.pov, &bob).expect("tampers"),
        ),
        tampered(
            "an extrinsic missing (the runtime panics)",
            parajam_collator::tamper::drop_last_extrinsic(&good.pov).expect("tampers"),
        ),
        ("a wrong parent head".to_owned(), wrong_parent),
    ];
    for (what, candidate) in cases {
        let report = r.check(&candidate).expect("checked");
        println!("{what}:\n{report}");
        let LegacyVerdict::Invalid(why) = &report.legacy else {
            panic!("{what}: valid on wasm\n{report}");
        };
        assert!(!why.is_empty());
        assert!(
            matches!(report.pvm, PvmVerdict::Invalid(_)),
            "{what}: {report}"
        );
        assert!(report.identical, "{what}: both reject");
        assert!(!report.enacted, "{what}");
        assert!(
            report.ok(),
            "{what}: a rejected bad block is what should happen"
        );
        assert_eq!(r.stored_head(), head, "{what}: nothing enacted");
        assert_eq!(r.parent().number(), 0);
    }
    // The same block built again (at the current relay parent: the one
    // above is too old by now) is valid and enacted.
    let transfers = r.transfers(1, UNIT).expect("a transfer");
    let good = r.produce(transfers).expect("a block");
    let report = r.check(&good).expect("checked");
    assert_ok(&report);
    assert_eq!(r.parent().number(), 1);
}
