//! What the served host functions cost in refine: the CoreChains service
//! program (built from source, on the PVM) refines blocks of the
//! misbehaving PVF whose scripts (mode 16) make one call, then the same
//! call twice; the difference of refine's gas is one call's cost, as the
//! service pays it (its own code: argument `peek`s, the computation, the
//! result's `poke`, plus the inner `ecalli` and resume).
//!
//! `cargo bench -p parajam-pvf --bench hostfn_gas` prints one row per
//! function; run without `--bench` (as `cargo test --benches` does) it
//! checks every block refines, once.

#[path = "../tests/script/mod.rs"]
mod script;

use std::collections::BTreeMap;
use std::process::ExitCode;

use parajam_corechains_build::genesis::{service_account, GenesisPara};
use parajam_corechains_build::testing;
use parajam_corechains_service::blake2_256;
use parajam_corechains_types::{AuthScope, ParaId, RefineOutput, WorkItemPayload};
use parajam_guarantor::{Executor, Guarantor};
use parajam_primitives::types::{ServiceAccount, ServiceId, WorkExecResult};
use parajam_primitives::ProtocolParameters;
use parajam_pvm::{Pvm, PvmFlavor};
use parity_scale_codec::{Decode, Encode};
use script::{unhex, Script};

const SERVICE: ServiceId = 1000;
const PARA: ParaId = ParaId(2001);
const PARAMS: ProtocolParameters = ProtocolParameters::TINY;

fn accounts() -> BTreeMap<ServiceId, ServiceAccount> {
    let para = GenesisPara {
        id: PARA,
        head: &[],
        pvf: parajam_adder_build::MISBEHAVING_PVF,
    };
    BTreeMap::from([(SERVICE, service_account(1 << 40, 10, &[para]))])
}

/// A script op appended to a script.
type Op = Box<dyn Fn(Script) -> Script>;

/// Refine's gas for one block of the misbehaving PVF.
fn refine_gas(pvm: &Pvm, accounts: &BTreeMap<ServiceId, ServiceAccount>, block: &[u8]) -> u64 {
    let candidate = testing::candidate(PARA, vec![], parajam_adder_build::MISBEHAVING_PVF, block);
    let package = testing::package(
        SERVICE,
        PARAMS.gas_refine,
        &WorkItemPayload::Candidate(candidate),
        block,
        testing::auth_config(SERVICE, AuthScope::Para(PARA)),
    );
    let guarantor = Guarantor {
        executor: Executor {
            pvm,
            backend: pvm.preferred_backend(),
            crosscheck: false,
        },
        params: &PARAMS,
    };
    let auth = guarantor
        .is_authorized(accounts, &package, 0)
        .expect("Ψ_I runs");
    let WorkExecResult::Ok(trace) = &auth.result else {
        panic!("not authorized: {:?}", auth.result);
    };
    let refine = guarantor
        .refine(
            accounts,
            &package,
            0,
            0,
            &trace.0,
            &[vec![block.to_vec()]],
            &[vec![]],
            0,
        )
        .expect("Ψ_R runs");
    let WorkExecResult::Ok(output) = &refine.result else {
        panic!(
            "refine failed: {:?} (logs {:?})",
            refine.result, refine.logs
        );
    };
    match RefineOutput::decode(&mut &output.0[..]).expect("an output") {
        RefineOutput::Valid(_) => refine.gas_used,
        other => panic!("the block is not valid: {other:?}"),
    }
}

fn main() -> ExitCode {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let pvm = Pvm::new(PvmFlavor::Gp072).expect("a PVM");
    let accounts = accounts();
    let (ed_sig, ed_pub) = (unhex(script::ED_SIG), unhex(script::ED_PUB));
    let (sr_sig, sr_pub) = (unhex(script::SR_SIG), unhex(script::SR_PUB));
    let (ec_sig, ec_pub) = (unhex(script::EC_SIG), unhex(script::EC_PUB));
    let hash = blake2_256(b"parajam");
    let trie = script::trie_input();
    let cases: Vec<(&str, Op)> = vec![
        (
            "ed25519_verify v1 (good signature, 0-octet message)",
            Box::new(move |s: Script| s.op(0x01, &[&ed_sig, &ed_pub]).slice(b"")),
        ),
        (
            "sr25519_verify v2 (good signature, 7-octet message)",
            Box::new(move |s: Script| s.op(0x03, &[&sr_sig, &sr_pub]).slice(b"parajam")),
        ),
        (
            "secp256k1_ecdsa_recover v2 (good signature)",
            Box::new({
                let ec_sig = ec_sig.clone();
                move |s: Script| s.op(0x08, &[&ec_sig, &hash])
            }),
        ),
        (
            "ecdsa_verify v2 (good signature, 7-octet message)",
            Box::new(move |s: Script| s.op(0x05, &[&ec_sig, &ec_pub]).slice(b"parajam")),
        ),
        (
            "blake2_256_ordered_root v2 (100 values, 2.1 KB, LayoutV1)",
            Box::new(move |s: Script| s.op(0x11, &[&[1]]).slice(&trie)),
        ),
    ];
    // The deepest trie the table builds (keys sharing `MAX_DEPTH` nibbles)
    // fits the service program's stack.
    let deep: Vec<(Vec<u8>, Vec<u8>)> = (1..=256).map(|i| (vec![0xaa; i], vec![1])).collect();
    let deep_gas = refine_gas(
        &pvm,
        &accounts,
        &Script::default().op(0x14, &[&[1]]).slice(&deep.encode()).0,
    );
    if bench_mode {
        println!("| host function | refine gas per call |");
        println!("|---|---:|");
    }
    for (name, op) in &cases {
        let once = refine_gas(&pvm, &accounts, &op(Script::default()).0);
        if bench_mode {
            let twice = refine_gas(&pvm, &accounts, &op(op(Script::default())).0);
            println!("| {name} | {} |", twice.saturating_sub(once));
        }
    }
    if bench_mode {
        let empty = refine_gas(&pvm, &accounts, &Script::default().0);
        println!("(refine of an empty script: {empty} gas; of the deepest trie root: {deep_gas})");
    }
    ExitCode::SUCCESS
}
