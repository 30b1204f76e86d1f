//! SLOW (runtime/parachain, and its `upgraded` build, from the build
//! cache: minutes cold; then a few minutes of blocks): a runtime upgrade
//! by the relay chain's governance, with no sudo on the para, as
//! Polkadot's system chains upgrade (issue 23, item 3).
//!
//! The registrar, standing for relay governance, queues a downward XCM
//! `[UnpaidExecution, Transact(Superuser, System::authorize_upgrade(h)),
//! SetTopic]` on the para's downward queue in the CoreChains service; the
//! para's next block processes it (its XCM configuration lets the parent
//! run unpaid and makes it root, `ParentAsSuperuser`) and authorizes the
//! code; anyone's unsigned `apply_authorized_upgrade(code)` hands it to
//! parachain-system; the service enacts its PVM build after the delay,
//! and the blocks after run the new code, every block identical on wasm
//! and the PVM. The same `Transact` sent by a sibling over HRMP is not
//! root there and authorizes nothing.

use std::process::Command;

use parajam_collator::ParaState;
use parajam_corechains_build::genesis::GenesisChannel;
use parajam_corechains_service::host_functions::Hasher;
use parajam_corechains_types::ParaId;
use parajam_e2e::{parajam_binary, runtime_parachain, runtime_parachain_dir, sibling_queue};
use parajam_rehearsal::network::Network;
use parajam_rehearsal::xcm_calls::{sibling_location, sudo_send, superuser_transact};
use parajam_rehearsal::{
    authorized_upgrade, Config, PvmVerdict, Rehearsal, Scenario, Upgrade, UpgradeOrigin,
};

const A: u32 = 2000;
const B: u32 = 2001;
/// The genesis patch that leaves the para without a sudo key.
const NO_SUDO: &str = r#"{"sudo":{"key":null}}"#;

/// `Sudo::Key` in `state`, if set.
fn sudo_key(state: &ParaState) -> Option<Vec<u8>> {
    let key = [Hasher::Twox128.hash(b"Sudo"), Hasher::Twox128.hash(b"Key")].concat();
    state.storage(&key).expect("reads")
}

#[test]
fn slow_relay_governance_upgrades_a_runtime_without_sudo() {
    let old = runtime_parachain(&[]);
    let new = runtime_parachain(&["upgraded"])
        .compressed()
        .expect("the wasm compresses");
    let config = Config {
        genesis_patch: Some(serde_json::from_str(NO_SUDO).expect("JSON")),
        ..Config::default()
    };
    let mut r = Rehearsal::new(old.clone(), config).expect("a rehearsal");
    assert_eq!(sudo_key(r.parent()), None, "no sudo key on the para");
    assert_eq!(r.authorized_upgrade().expect("reads"), None);

    let at = 3;
    let scenario = Scenario {
        blocks: 14,
        upgrade: Some(Upgrade {
            code: new.clone(),
            at,
            check_version: true,
            origin: UpgradeOrigin::Governance,
        }),
        ..Scenario::default()
    };
    let reports = r
        .run(&scenario, |_, report| println!("{report}"))
        .expect("the rehearsal runs");
    assert_eq!(reports.len(), 14);
    for report in &reports {
        assert!(report.ok(), "{report}");
        assert!(report.identical && report.enacted, "{report}");
    }
    // Block `at` processed the downward Transact (and only that block had
    // one to process); block `at + 1` handed the code to parachain-system.
    let processed: Vec<u32> = reports
        .iter()
        .filter_map(|r| match &r.pvm {
            PvmVerdict::Valid(o) if o.processed_downward_messages > 0 => Some(r.number),
            _ => None,
        })
        .collect();
    assert_eq!(processed, vec![at]);
    let asked: Vec<u32> = reports
        .iter()
        .filter(|r| r.new_code.is_some())
        .map(|r| r.number)
        .collect();
    assert_eq!(asked, vec![at + 1]);
    // The service enacted the upgrade's PVM build, and the blocks after it
    // ran the new code on both engines.
    let enacted: Vec<u32> = reports
        .iter()
        .filter(|r| r.upgrade_enacted)
        .map(|r| r.number)
        .collect();
    assert_eq!(enacted.len(), 1, "one upgrade enacted");
    assert!(enacted[0] < 14, "blocks follow the upgrade");
    assert_eq!(r.current_code(), Some(new.pvf_hash()));
    assert_ne!(new.pvf_hash(), old.pvf_hash());
    assert_eq!(
        r.collator()
            .runtime_at(r.parent())
            .expect("the runtime loads")
            .runtime
            .version()
            .spec_version,
        2,
        "the para runs the upgraded runtime"
    );
    assert_eq!(r.authorized_upgrade().expect("reads"), None, "used up");
}

#[test]
fn slow_pvf_check_upgrades_by_relay_governance() {
    let out = Command::new(parajam_binary())
        .args(["pvf", "check", "--runtime"])
        .arg(runtime_parachain_dir())
        .args([
            "--blocks",
            "12",
            "--upgrade",
            "self",
            "--upgrade-origin",
            "governance",
            "--genesis-patch",
            NO_SUDO,
        ])
        .output()
        .expect("running parajam pvf check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("by relay governance"), "{stdout}");
    assert!(
        stdout.contains(
            "12 blocks: 12 identical on wasm and PVM, 12 valid, 12 enacted, 1 code upgrade(s) enacted"
        ),
        "{stdout}"
    );
}

#[test]
fn slow_a_siblings_superuser_transact_authorizes_nothing() {
    let channel = GenesisChannel {
        sender: ParaId(B),
        recipient: ParaId(A),
        max_capacity: 8,
        max_message_size: 1024,
    };
    let old = runtime_parachain(&[]);
    let mut net =
        Network::new(old.clone(), Config::default(), &[A, B], &[channel]).expect("network");
    let tx_a = net.tx_format(A).expect("tx format");
    let tx_b = net.tx_format(B).expect("tx format");
    // The call relay governance sends in the test above, for 2000's code.
    let call = tx_a
        .authorize_upgrade(&old.wasm_hash(), false)
        .expect("the call");

    // 2001's first block sends no HRMP message (no host configuration
    // yet); its second has its root send the Transact to 2000.
    parajam_e2e::assert_block_ok(&net.step(B, vec![]).expect("block"));
    let send = sudo_send(&tx_b, sibling_location(A), superuser_transact(call)).expect("the call");
    let alice = net.signed(B, "Alice", &send, 0).expect("signs");
    let b = net.step(B, vec![alice]).expect("block");
    parajam_e2e::assert_block_ok(&b);
    assert!(
        b.messaging.sent_horizontal.iter().any(|(r, _)| *r == A),
        "{b}"
    );

    // 2000 gets it and its message queue processes it: not as root.
    for _ in 0..2 {
        parajam_e2e::assert_block_ok(&net.step(A, vec![]).expect("block"));
    }
    let state = net.parent(A).expect("para");
    assert_eq!(
        sibling_queue(state, B),
        Some(0),
        "2001's message reached 2000's message queue and left it"
    );
    assert_eq!(
        authorized_upgrade(state).expect("reads"),
        None,
        "a sibling's Superuser Transact authorized an upgrade"
    );
}
