//! End to end: a JAM dev chain with the CoreChains service and the adder
//! parachain registered at genesis. A collator builds a work package for
//! each parachain block; the guarantor computes the work report (`Ξ`:
//! is-authorized and refine on the PVM, with the real service and
//! authorizer programs and the PVF as refine's inner machine, and the
//! availability specification of the real audit bundle); the report is
//! guaranteed in one block and assured in the next, and the real STF
//! accumulates it. Each adder block is also validated with the adder's wasm
//! build by the relay chain's own PVF executor (the legacy path), and
//! refine's result octets (by their hash in the work output) are the wasm
//! ones exactly. A para can also be registered by
//! a registrar work package, its code provided as a preimage, and its blocks
//! then validated and enacted.

use jam_codec::Encode as _;
use parajam_authoring::{Contents, DevChain, DevKeys, Genesis};
use parajam_bandersnatch::RingContext;
use parajam_corechains_build::genesis::{service_account, GenesisPara};
use parajam_corechains_service::relay_state::{RelayState, UpgradeSignal};
use parajam_corechains_types::state::{PendingUpgrade, StorageKey};
use parajam_corechains_types::{
    AuthScope, HeadData, ParaId, ParachainCandidate, RefineOutput, Registration,
    ValidationCodeHash, WorkItemPayload,
};
use parajam_guarantor::Guaranteed;
use parajam_primitives::types::{
    CoreIndex, OpaqueHash, Preimage, RefineContext, WorkExecResult, WorkPackage,
};
use parajam_primitives::ProtocolParameters;
use parajam_rehearsal::drive::{self, authorizer, ItemGas, SERVICE};
use parity_scale_codec::{Decode, Encode};

const ADDER: ParaId = ParaId(2000);
/// Registered by the registrar during the test; its code is the
/// misbehaving test PVF, whose block data `[4, ..]` is a valid block with
/// head `blake2_256(block data)`.
const NEWCOMER: ParaId = ParaId(2002);
const PARAMS: ProtocolParameters = ProtocolParameters::TINY;
/// The core each scope's packages go to.
const PARA_CORE: CoreIndex = 0;
const REGISTRAR_CORE: CoreIndex = 1;

fn hash(data: &[u8]) -> [u8; 32] {
    parajam_crypto::blake2b_256(data)
}

/// A dev chain whose genesis holds the CoreChains account with the adder
/// registered at its genesis head; core 0 admits the adder's and the
/// newcomer's packages, core 1 the registrar's.
fn chain() -> DevChain {
    chain_with(&[])
}

/// The slots a code upgrade waits (the service's `upgrade_delay`).
const UPGRADE_DELAY: u32 = 10;

/// [`chain`] with more paras registered at genesis.
fn chain_with(more: &[GenesisPara<'_>]) -> DevChain {
    let ring = RingContext::zcash(usize::from(PARAMS.validators_count)).expect("ring");
    let keys = DevKeys::new(PARAMS.validators_count);
    let adder = parajam_e2e::adder_para(ADDER);
    let mut genesis = Genesis::new(&PARAMS, keys.validators()).with_service(
        SERVICE,
        service_account(1 << 40, UPGRADE_DELAY, &[&[adder], more].concat()),
    );
    genesis.authorizers = vec![
        vec![
            authorizer(AuthScope::Para(ADDER), UPGRADE_DELAY),
            authorizer(AuthScope::Para(NEWCOMER), UPGRADE_DELAY),
        ],
        vec![authorizer(AuthScope::Registrar, UPGRADE_DELAY)],
    ];
    parajam_corechains_build::trust_programs();
    let state = genesis.build(&PARAMS, &ring).expect("genesis");
    let mut chain = DevChain::new(PARAMS, keys, state, ring).expect("a dev chain");
    chain.author_next(Contents::default()).expect("block 1");
    chain
}

/// A package of one CoreChains item: `payload`, with `extrinsics`,
/// authorized under `scope`.
fn package(
    context: RefineContext,
    scope: AuthScope,
    payload: &WorkItemPayload,
    extrinsics: &[Vec<u8>],
) -> WorkPackage {
    let gas = ItemGas {
        refine: PARAMS.gas_refine,
        accumulate: PARAMS.gas_accumulate_report,
    };
    drive::package(context, scope, payload, extrinsics, gas).expect("a package")
}

/// What a collator submits for `block` of `para` on `parent` with `code`.
fn candidate_package(
    chain: &DevChain,
    para: ParaId,
    code: &[u8],
    parent: &[u8],
    block: &[u8],
) -> WorkPackage {
    let context = chain.refine_context().expect("a recent block");
    // The relay parent: the service's emulated relay-chain state for the
    // para at the chain's current slot, as a collator reads it.
    let slot = chain.state().timeslot;
    let relay_state = RelayState::read(|key| storage(chain, key), para, slot);
    let candidate = ParachainCandidate {
        para_id: para,
        parent_head: HeadData(parent.to_vec()),
        validation_code_hash: ValidationCodeHash(hash(code)),
        anchor: context.anchor.0,
        relay_parent_number: slot,
        relay_parent_storage_root: relay_state.map_or([0; 32], |state| state.root()),
        block_data_hash: hash(block),
    };
    package(
        context,
        AuthScope::Para(para),
        &WorkItemPayload::Candidate(candidate),
        &[block.to_vec()],
    )
}

/// `Ξ(p, c)` by a guarantor on the chain's current accounts, for a package
/// of one item with `extrinsics`.
fn guarantee(
    chain: &DevChain,
    package: &WorkPackage,
    extrinsics: &[Vec<u8>],
    core: CoreIndex,
) -> Guaranteed {
    let backend = chain.pvm().preferred_backend();
    drive::guarantee(chain, backend, package, extrinsics, core).expect("Ξ: a work report")
}

/// The refine output of a guaranteed single-item package.
fn refine_output(guaranteed: &Guaranteed) -> RefineOutput {
    let WorkExecResult::Ok(output) = &guaranteed.report.results[0].result else {
        panic!("refine failed: {:?}", guaranteed.report.results[0].result);
    };
    RefineOutput::decode(&mut &output.0[..]).expect("an output")
}

/// Guarantees the report in one block; it is assured, and accumulated, in
/// the next.
fn enact(chain: &mut DevChain, guaranteed: Guaranteed) {
    drive::enact(chain, guaranteed).unwrap_or_else(|e| panic!("{e}"));
}

fn storage(chain: &DevChain, key: StorageKey) -> Option<Vec<u8>> {
    chain.state().accounts[&SERVICE]
        .storage(&key.to_key())
        .map(<[u8]>::to_vec)
}

fn stored_head(chain: &DevChain, para: ParaId) -> HeadData {
    let value = storage(chain, StorageKey::Head(para)).expect("the para has a head");
    HeadData::decode(&mut &value[..]).expect("a stored head decodes")
}

#[test]
fn ten_adder_blocks_are_validated_in_refine_and_enacted_by_accumulate() {
    let mut chain = chain();
    // The legacy path, for comparison: the adder's wasm build, prepared once
    // by the relay chain's PVF executor.
    let wasm = parajam_pvf::legacy::prepare(parajam_adder_build::WASM).expect("wasm PVF");
    let mut parent = parajam_adder::HeadData::genesis(0);
    let mut adder_state = 0u64;
    for n in 1..=10u64 {
        let block = parajam_adder::BlockData {
            state: adder_state,
            add: n,
        }
        .encode()
        .to_vec();
        let package = candidate_package(
            &chain,
            ADDER,
            parajam_adder_build::PVF_ARTIFACT,
            &parent.encode(),
            &block,
        );
        let guaranteed = guarantee(&chain, &package, std::slice::from_ref(&block), PARA_CORE);
        let spec = &guaranteed.report.package_spec;
        assert_eq!(spec.hash.0, hash(&package.encode()));
        assert_eq!(spec.length as usize, guaranteed.bundle.len());
        let RefineOutput::Valid(valid) = refine_output(&guaranteed) else {
            panic!("block {n}: invalid");
        };
        let head = parajam_adder::execute(
            parajam_adder::keccak256(&parent.encode()),
            &parent,
            &parajam_adder::BlockData::decode(&block).expect("a block"),
        )
        .expect("a valid block");
        assert_eq!(valid.head_data, HeadData(head.encode().to_vec()));
        // Byte-identical to what the relay chain's wasm path returns.
        let params = parajam_corechains_types::ValidationParams {
            parent_head: HeadData(parent.encode().to_vec()),
            block_data: parajam_corechains_types::BlockData(block.clone()),
            relay_parent_number: valid.relay_parent_number,
            relay_parent_storage_root: valid.relay_parent_storage_root,
        }
        .encode();
        let legacy = wasm.validate_block(&params).expect("valid on wasm");
        assert_eq!(
            valid.result_hash,
            hash(&legacy.result),
            "block {n}: wasm ≠ PVM"
        );

        enact(&mut chain, guaranteed);
        assert_eq!(
            stored_head(&chain, ADDER),
            HeadData(head.encode().to_vec()),
            "block {n}: the service enacted the new head"
        );
        parent = head;
        adder_state += n;
    }
    assert_eq!(parent.number, 10);
}

#[test]
fn a_registrar_package_registers_a_para_whose_blocks_then_validate() {
    let mut chain = chain();
    let code = parajam_adder_build::MISBEHAVING_PVF;
    let code_hash = OpaqueHash::from(hash(code));
    let code_len = u32::try_from(code.len()).expect("small");
    let genesis_head = b"newcomer genesis".to_vec();

    // Before registration a newcomer block is not even refined: the
    // service does not know the para's code.
    let block = [4u8, 1, 2, 3];
    let early = candidate_package(&chain, NEWCOMER, code, &genesis_head, &block);
    assert!(matches!(
        refine_output(&guarantee(&chain, &early, &[block.to_vec()], PARA_CORE)),
        RefineOutput::Invalid { .. }
    ));

    // The registrar's package: the para's genesis head and code hash.
    let registration = WorkItemPayload::Register(Registration {
        para_id: NEWCOMER,
        genesis_head: HeadData(genesis_head.clone()),
        validation_code_hash: ValidationCodeHash(code_hash.0),
        validation_code_len: code_len,
    });
    let context = chain.refine_context().expect("a recent block");
    let register = package(context, AuthScope::Registrar, &registration, &[]);
    let guaranteed = guarantee(&chain, &register, &[], REGISTRAR_CORE);
    assert!(matches!(
        refine_output(&guaranteed),
        RefineOutput::Register(_)
    ));
    enact(&mut chain, guaranteed);
    assert_eq!(
        stored_head(&chain, NEWCOMER),
        HeadData(genesis_head.clone())
    );
    let account = &chain.state().accounts[&SERVICE];
    assert_eq!(
        account.request(&code_hash, code_len),
        Some(vec![]),
        "accumulate solicited the para's code"
    );
    assert!(account.preimage(&code_hash).is_none());

    // Anyone provides the code (E_P); the newcomer's block then validates
    // against it and accumulate enacts its head.
    chain
        .author_next(Contents {
            preimages: vec![Preimage {
                requester: SERVICE,
                blob: code.to_vec().into(),
            }],
            ..Contents::default()
        })
        .expect("the code provided");
    chain
        .author_next(Contents::default())
        .expect("a later anchor");
    let package = candidate_package(&chain, NEWCOMER, code, &genesis_head, &block);
    let guaranteed = guarantee(&chain, &package, &[block.to_vec()], PARA_CORE);
    let RefineOutput::Valid(valid) = refine_output(&guaranteed) else {
        panic!("invalid: {:?}", refine_output(&guaranteed));
    };
    assert_eq!(valid.head_data, HeadData(hash(&block).to_vec()));
    enact(&mut chain, guaranteed);
    assert_eq!(
        stored_head(&chain, NEWCOMER),
        HeadData(hash(&block).to_vec())
    );
    // The registered para list has both.
    let paras = storage(&chain, StorageKey::Paras).expect("a para list");
    assert_eq!(
        Vec::<ParaId>::decode(&mut &paras[..]).expect("a list"),
        vec![ADDER, NEWCOMER]
    );
}

/// `para`'s current code in the service's storage.
fn current_code(chain: &DevChain, para: ParaId) -> ValidationCodeHash {
    let value = storage(chain, StorageKey::Code(para)).expect("a code");
    ValidationCodeHash::decode(&mut &value[..]).expect("decodes")
}

/// The code-upgrade signal the service's relay state shows `para` now.
fn upgrade_signal(chain: &DevChain, para: ParaId) -> Option<UpgradeSignal> {
    RelayState::read(|key| storage(chain, key), para, chain.state().timeslot)
        .expect("registered")
        .upgrade
}

/// A misbehaving-PVF block that returns `head`, and asks for `code` if any
/// (modes 8 and 9).
fn head_block(head: &[u8], code: Option<&[u8]>) -> Vec<u8> {
    let mut block = vec![if code.is_some() { 8u8 } else { 9 }];
    block.extend_from_slice(&u32::try_from(head.len()).expect("small").to_le_bytes());
    block.extend_from_slice(head);
    block.extend_from_slice(code.unwrap_or_default());
    block
}

#[test]
fn a_para_upgrades_its_code_and_the_new_code_validates_its_next_blocks() {
    // The newcomer starts on the misbehaving PVF; its upgrade block asks
    // for the adder's code, which the service already holds (the adder
    // para runs it).
    let old = parajam_adder_build::MISBEHAVING_PVF;
    let new = parajam_adder_build::PVF_ARTIFACT;
    let genesis_head = b"newcomer genesis".to_vec();
    let mut chain = chain_with(&[GenesisPara {
        id: NEWCOMER,
        head: &genesis_head,
        pvf: old,
    }]);
    // The upgrade block hands over an adder genesis head, the go-ahead
    // block another one, on which the adder's blocks build.
    let upgrading_head = parajam_adder::HeadData::genesis(0).encode().to_vec();
    let adder_genesis = parajam_adder::HeadData::genesis(1).encode().to_vec();
    let upgrade = head_block(&upgrading_head, Some(new));
    let package = candidate_package(&chain, NEWCOMER, old, &genesis_head, &upgrade);
    let guaranteed = guarantee(&chain, &package, std::slice::from_ref(&upgrade), PARA_CORE);
    let RefineOutput::Valid(valid) = refine_output(&guaranteed) else {
        panic!(
            "the upgrade block is invalid: {:?}",
            refine_output(&guaranteed)
        );
    };
    assert_eq!(valid.head_data, HeadData(upgrading_head.clone()));
    let asked = valid.new_validation_code.expect("a new code");
    assert_eq!(asked.code_hash, ValidationCodeHash(hash(new)));
    assert_eq!(asked.code_len as usize, new.len());
    enact(&mut chain, guaranteed);
    let scheduled_at = chain.state().timeslot;
    assert_eq!(
        stored_head(&chain, NEWCOMER),
        HeadData(upgrading_head.clone())
    );
    let pending = storage(&chain, StorageKey::PendingUpgrade(NEWCOMER)).expect("an upgrade");
    let pending = PendingUpgrade::decode(&mut &pending[..]).expect("decodes");
    assert_eq!(pending.code_hash, asked.code_hash);
    assert_eq!(pending.enact_at, scheduled_at + UPGRADE_DELAY);
    let code = |chain: &DevChain| current_code(chain, NEWCOMER);
    let signal = |chain: &DevChain| upgrade_signal(chain, NEWCOMER);
    assert_eq!(code(&chain), ValidationCodeHash(hash(old)), "not yet");
    // The relay state a collator reads: the upgrade restricted, then, once
    // due, the go-ahead.
    assert_eq!(signal(&chain), Some(UpgradeSignal::Restricted));

    // An adder block on the new code, too early: refine validates it (it
    // names the new code), but accumulate refuses it, the old code being
    // current still; nothing changes.
    let block = parajam_adder::BlockData { state: 0, add: 7 }
        .encode()
        .to_vec();
    let early = candidate_package(&chain, NEWCOMER, new, &upgrading_head, &block);
    let guaranteed = guarantee(&chain, &early, std::slice::from_ref(&block), PARA_CORE);
    assert!(matches!(refine_output(&guaranteed), RefineOutput::Valid(_)));
    enact(&mut chain, guaranteed);
    assert_eq!(
        stored_head(&chain, NEWCOMER),
        HeadData(upgrading_head.clone())
    );
    assert_eq!(code(&chain), ValidationCodeHash(hash(old)));

    // Once the delay has passed the para sees the go-ahead. Its next block
    // applies the new code in its own state but is validated with the old
    // code, as on the relay chain: one on the new code is still refused.
    while chain.state().timeslot < pending.enact_at {
        chain
            .author_next(Contents::default())
            .expect("an empty block");
    }
    assert_eq!(signal(&chain), Some(UpgradeSignal::GoAhead));
    let package = candidate_package(&chain, NEWCOMER, new, &upgrading_head, &block);
    let guaranteed = guarantee(&chain, &package, std::slice::from_ref(&block), PARA_CORE);
    enact(&mut chain, guaranteed);
    assert_eq!(
        stored_head(&chain, NEWCOMER),
        HeadData(upgrading_head.clone())
    );
    assert_eq!(code(&chain), ValidationCodeHash(hash(old)));
    // The go-ahead block, on the old code, hands over the adder's genesis
    // head; its enactment makes the new code current.
    let go_ahead = head_block(&adder_genesis, None);
    let package = candidate_package(&chain, NEWCOMER, old, &upgrading_head, &go_ahead);
    let guaranteed = guarantee(&chain, &package, std::slice::from_ref(&go_ahead), PARA_CORE);
    assert!(matches!(refine_output(&guaranteed), RefineOutput::Valid(_)));
    enact(&mut chain, guaranteed);
    assert_eq!(code(&chain), ValidationCodeHash(hash(new)), "upgraded");
    assert!(storage(&chain, StorageKey::PendingUpgrade(NEWCOMER)).is_none());
    assert_eq!(
        stored_head(&chain, NEWCOMER),
        HeadData(adder_genesis.clone())
    );
    assert_eq!(signal(&chain), None);

    // An adder block now validates with the new code and is enacted.
    let block = parajam_adder::BlockData { state: 1, add: 7 }
        .encode()
        .to_vec();
    let package = candidate_package(&chain, NEWCOMER, new, &adder_genesis, &block);
    let guaranteed = guarantee(&chain, &package, std::slice::from_ref(&block), PARA_CORE);
    let RefineOutput::Valid(valid) = refine_output(&guaranteed) else {
        panic!("invalid: {:?}", refine_output(&guaranteed));
    };
    let head = parajam_adder::execute(
        parajam_adder::keccak256(&adder_genesis),
        &parajam_adder::HeadData::genesis(1),
        &parajam_adder::BlockData::decode(&block).expect("a block"),
    )
    .expect("a valid block")
    .encode()
    .to_vec();
    assert_eq!(valid.head_data, HeadData(head.clone()));
    enact(&mut chain, guaranteed);
    assert_eq!(stored_head(&chain, NEWCOMER), HeadData(head.clone()));

    // The old code is no longer the para's: a block validated with it is
    // refused by accumulate.
    let stale_block = [4u8, 1];
    let stale = candidate_package(&chain, NEWCOMER, old, &head, &stale_block);
    let guaranteed = guarantee(&chain, &stale, &[stale_block.to_vec()], PARA_CORE);
    assert!(matches!(refine_output(&guaranteed), RefineOutput::Valid(_)));
    enact(&mut chain, guaranteed);
    assert_eq!(stored_head(&chain, NEWCOMER), HeadData(head));
}

#[test]
fn a_block_on_a_relay_state_the_service_never_had_is_not_enacted() {
    let mut chain = chain();
    let parent = parajam_adder::HeadData::genesis(0).encode().to_vec();
    let block = parajam_adder::BlockData { state: 0, add: 3 }
        .encode()
        .to_vec();
    let candidate = |chain: &DevChain, tamper: &dyn Fn(&mut ParachainCandidate)| {
        let mut package = candidate_package(
            chain,
            ADDER,
            parajam_adder_build::PVF_ARTIFACT,
            &parent,
            &block,
        );
        let WorkItemPayload::Candidate(mut c) =
            WorkItemPayload::decode(&mut &package.items[0].payload[..]).expect("a payload")
        else {
            panic!("a candidate");
        };
        tamper(&mut c);
        let mut items = package.items.to_vec();
        items[0].payload = WorkItemPayload::Candidate(c).encode().into();
        package.items = items.into();
        package
    };
    // Refine cannot tell (it passes the relay parent to the PVF, which the
    // adder ignores), but accumulate recomputes the root and refuses:
    // another root, a root of another slot, a relay parent in the future.
    let tampers: [&dyn Fn(&mut ParachainCandidate); 3] = [
        &|c| c.relay_parent_storage_root[0] ^= 1,
        &|c| c.relay_parent_number -= 1,
        &|c| c.relay_parent_number += 5,
    ];
    for tamper in tampers {
        let package = candidate(&chain, tamper);
        let guaranteed = guarantee(&chain, &package, std::slice::from_ref(&block), PARA_CORE);
        assert!(matches!(refine_output(&guaranteed), RefineOutput::Valid(_)));
        enact(&mut chain, guaranteed);
        assert_eq!(stored_head(&chain, ADDER), HeadData(parent.clone()));
    }
    // Untampered, the same block is enacted.
    let package = candidate(&chain, &|_| {});
    let guaranteed = guarantee(&chain, &package, std::slice::from_ref(&block), PARA_CORE);
    enact(&mut chain, guaranteed);
    assert_ne!(stored_head(&chain, ADDER), HeadData(parent));
}
