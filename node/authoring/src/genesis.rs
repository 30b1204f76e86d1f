//! A genesis state `σ` for a dev chain, and service accounts whose code is
//! in the state.
//!
//! At genesis (`τ = 0`) every validator set (`λ`, `κ`, `γ_k`, `ι`) is the
//! given one; `γ_z` is the ring root of its Bandersnatch keys (GP eq.
//! 6.13), `γ_s` the fallback keys `F(η_2, κ)` (GP eq. 6.26) and `γ_a`
//! empty, so the first epoch is sealed in fallback mode. Recent history
//! holds the genesis header alone, as in the conformance traces' genesis
//! (zero state and BEEFY roots, an empty MMR): the first block's parent is
//! checked, and a report can anchor on genesis. Disputes, reports pending
//! availability, the ready and accumulated queues and the accumulation
//! outputs are empty; statistics are zero. Every core's authorizer pool
//! `α[c]` holds `O` copies of its authorizer and its queue `φ[c]` `Q`
//! copies, so the pools never run dry.

use std::collections::BTreeMap;

use parajam_bandersnatch::RingContext;
use parajam_primitives::codec::FixedSeq;
use parajam_primitives::types::{
    AccumulatedQueue, AuthPool, AuthPools, AuthQueue, AuthQueues, AuthorizerHash, Balance,
    BlockInfo, CoreActivityRecord, DisputesRecords, EntropyBuffer, EpochMark,
    EpochMarkValidatorKeys, Gas, Header, OpaqueHash, Privileges, ReadyQueue, RecentBlocks,
    SafroleState, ServiceAccount, ServiceId, ServiceInfo, Statistics, TicketsOrKeys,
    ValidatorActivityRecord, ValidatorIndex, ValidatorsData,
};
use parajam_primitives::{ByteArray, ProtocolParameters};
use parajam_state::State;
use parajam_stf::header::header_hash;
use parajam_stf::safrole::fallback_keys;

/// Why a genesis state could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// The validator set does not have `V` keys.
    #[error("{found} validators given, the parameters need {expected}")]
    ValidatorCount {
        /// `V`.
        expected: usize,
        /// How many were given.
        found: usize,
    },
    /// The ring context serves another ring size than `V`.
    #[error("the ring context serves rings of {found} keys, not V = {expected}")]
    RingSize {
        /// `V`.
        expected: usize,
        /// The context's ring size.
        found: usize,
    },
    /// The authorizers are not one non-empty list per core.
    #[error("{found} authorizers given for {expected} cores")]
    AuthorizerCount {
        /// `C`.
        expected: usize,
        /// How many were given.
        found: usize,
    },
    /// The privileged assigners `χ_A` are not one per core.
    #[error("{found} assigners given for {expected} cores")]
    AssignerCount {
        /// `C`.
        expected: usize,
        /// How many were given.
        found: usize,
    },
}

/// The authorizer hash every core of a dev chain authorizes by default:
/// `H("parajam-dev-authorizer")`. No work package is ever checked against
/// it (reports are made by hand); it only has to be in the pools.
pub fn dev_authorizer() -> AuthorizerHash {
    ByteArray(parajam_crypto::blake2b_256(b"parajam-dev-authorizer"))
}

/// The code preimage of a service: `E(↕metadata) ⌢ code` (GP eq. 9.4),
/// what the code hash is the hash of.
pub fn code_preimage(metadata: &[u8], code: &[u8]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(metadata.len() + code.len() + 9);
    jam_codec::Encode::encode_to(&jam_codec::Compact(metadata.len() as u64), &mut blob);
    blob.extend_from_slice(metadata);
    blob.extend_from_slice(code);
    blob
}

/// A service account whose code is `code` (a GP standard program, GP
/// eq. A.7), with no metadata: the code preimage `p = E(↕[]) ⌢ code` is in
/// `a_p` under `a_c = H(p)`, and its request `a_l[(H(p), |p|)] = [0]`
/// records it available since slot 0 (so both `a_c`'s lookup and the
/// historical lookup find it). The footprint counts the request (GP eq.
/// 9.8); the balance should cover the threshold
/// [`ServiceAccount::min_balance`].
pub fn service_account(
    code: &[u8],
    balance: Balance,
    min_item_gas: Gas,
    min_memo_gas: Gas,
) -> ServiceAccount {
    service_account_with_metadata(&[], code, balance, min_item_gas, min_memo_gas)
}

/// [`service_account`] with code metadata `metadata`.
pub fn service_account_with_metadata(
    metadata: &[u8],
    code: &[u8],
    balance: Balance,
    min_item_gas: Gas,
    min_memo_gas: Gas,
) -> ServiceAccount {
    let blob = code_preimage(metadata, code);
    let hash: OpaqueHash = ByteArray(parajam_crypto::blake2b_256(&blob));
    let length = u32::try_from(blob.len()).unwrap_or(u32::MAX);
    let mut account = ServiceAccount::with_info(ServiceInfo {
        code_hash: hash,
        balance,
        min_item_gas,
        min_memo_gas,
        ..ServiceInfo::default()
    });
    account.set_preimage(&hash, Some(blob));
    account.set_request(&hash, length, Some(&[0]));
    account
}

/// What a genesis state is made of besides the parameters.
#[derive(Debug, Clone)]
pub struct Genesis {
    /// The validators of every set (`λ`, `κ`, `γ_k`, `ι`); `V` of them.
    pub validators: ValidatorsData,
    /// `η`. Default: four zero hashes.
    pub entropy: EntropyBuffer,
    /// Each core's authorizers, `C` lists of at least one: each core's pool
    /// and queue cycle through its list, so with a list no longer than the
    /// pool every one of them is always in the pool. Default: [`dev_authorizer`].
    pub authorizers: Vec<Vec<AuthorizerHash>>,
    /// `χ`. Default: no privileged service (service 0 everywhere, no
    /// always-accumulate services).
    pub privileges: Privileges,
    /// `δ`.
    pub services: BTreeMap<ServiceId, ServiceAccount>,
}

impl Genesis {
    /// A genesis for `params` with `validators` and the defaults.
    pub fn new(params: &ProtocolParameters, validators: ValidatorsData) -> Self {
        let cores = usize::from(params.core_count);
        Self {
            validators,
            entropy: [OpaqueHash::ZERO; 4],
            authorizers: vec![vec![dev_authorizer()]; cores],
            privileges: Privileges {
                assign: FixedSeq::new(vec![0; cores]),
                ..Privileges::default()
            },
            services: BTreeMap::new(),
        }
    }

    /// Adds (or replaces) service `id`.
    #[must_use]
    pub fn with_service(mut self, id: ServiceId, account: ServiceAccount) -> Self {
        self.services.insert(id, account);
        self
    }

    /// The state `σ` at slot 0. `ring` must serve rings of `V` keys (it
    /// computes `γ_z`).
    pub fn build(
        &self,
        params: &ProtocolParameters,
        ring: &RingContext,
    ) -> Result<State, GenesisError> {
        let validators = usize::from(params.validators_count);
        let cores = usize::from(params.core_count);
        if self.validators.len() != validators {
            return Err(GenesisError::ValidatorCount {
                expected: validators,
                found: self.validators.len(),
            });
        }
        if ring.ring_size() != validators {
            return Err(GenesisError::RingSize {
                expected: validators,
                found: ring.ring_size(),
            });
        }
        if self.authorizers.len() != cores || self.authorizers.iter().any(Vec::is_empty) {
            return Err(GenesisError::AuthorizerCount {
                expected: cores,
                found: self.authorizers.len(),
            });
        }
        if self.privileges.assign.len() != cores {
            return Err(GenesisError::AssignerCount {
                expected: cores,
                found: self.privileges.assign.len(),
            });
        }
        let epoch = params.epoch_length as usize;
        let keys: Vec<[u8; 32]> = self.validators.iter().map(|k| k.bandersnatch.0).collect();
        let seal_keys = fallback_keys(&self.entropy[2], &self.validators, params.epoch_length);
        let pools: Vec<AuthPool> = self
            .authorizers
            .iter()
            .map(|a| AuthPool::new(cycle(a, params.auth_pool_max_size)))
            .collect();
        let queues: Vec<AuthQueue> = self
            .authorizers
            .iter()
            .map(|a| AuthQueue::new(cycle(a, params.auth_queue_size)))
            .collect();
        let mut state = State {
            auth_pools: AuthPools::new(pools),
            auth_queues: AuthQueues::new(queues),
            recent_blocks: RecentBlocks::default(),
            safrole: SafroleState {
                pending_validators: self.validators.clone(),
                epoch_root: ByteArray(ring.ring_root(&keys)),
                seal_keys: TicketsOrKeys::Keys(FixedSeq::new(seal_keys)),
                ticket_accumulator: Vec::new().into(),
            },
            disputes: DisputesRecords::default(),
            entropy: self.entropy,
            staging_validators: self.validators.clone(),
            active_validators: self.validators.clone(),
            previous_validators: self.validators.clone(),
            availability: FixedSeq::new(vec![None; cores]),
            timeslot: 0,
            privileges: self.privileges.clone(),
            statistics: Statistics {
                vals_curr: FixedSeq::new(vec![ValidatorActivityRecord::default(); validators]),
                vals_last: FixedSeq::new(vec![ValidatorActivityRecord::default(); validators]),
                cores: FixedSeq::new(vec![CoreActivityRecord::default(); cores]),
                services: Vec::new(),
            },
            ready_queue: ReadyQueue::new(vec![Vec::new(); epoch]),
            accumulated: AccumulatedQueue::new(vec![Vec::new(); epoch]),
            accumulation_outputs: Vec::new(),
            accounts: self.services.clone(),
        };
        let genesis_hash = header_hash(&genesis_header(&state));
        state.recent_blocks.history.push(BlockInfo {
            header_hash: genesis_hash,
            ..BlockInfo::default()
        });
        Ok(state)
    }
}

/// `len` entries cycling through `authorizers`.
fn cycle(authorizers: &[AuthorizerHash], len: u16) -> Vec<AuthorizerHash> {
    authorizers
        .iter()
        .copied()
        .cycle()
        .take(usize::from(len))
        .collect()
}

/// `genesis(params, validators, services)`: [`Genesis::new`] with
/// `services`, built.
pub fn genesis(
    params: &ProtocolParameters,
    validators: ValidatorsData,
    services: BTreeMap<ServiceId, ServiceAccount>,
    ring: &RingContext,
) -> Result<State, GenesisError> {
    Genesis {
        services,
        ..Genesis::new(params, validators)
    }
    .build(params, ring)
}

/// The genesis header of `state`, shaped like the conformance traces'
/// genesis headers: slot `τ`, zero parent, prior state root and extrinsic
/// hash, an epoch marker naming `η_0`, `η_1` and `κ`, author index
/// `2^16 − 1` (no author), zero VRF signatures. It is never validated; its
/// hash is the newest entry of the genesis recent history and the parent of
/// the first block. (It reads neither `β` nor the accounts.)
pub fn genesis_header(state: &State) -> Header {
    Header {
        parent: OpaqueHash::ZERO,
        parent_state_root: OpaqueHash::ZERO,
        extrinsic_hash: OpaqueHash::ZERO,
        slot: state.timeslot,
        epoch_mark: Some(EpochMark {
            entropy: state.entropy[0],
            tickets_entropy: state.entropy[1],
            validators: FixedSeq::new(
                state
                    .active_validators
                    .iter()
                    .map(|k| EpochMarkValidatorKeys {
                        bandersnatch: k.bandersnatch,
                        ed25519: k.ed25519,
                    })
                    .collect(),
            ),
        }),
        tickets_mark: None,
        author_index: ValidatorIndex::MAX,
        entropy_source: ByteArray([0; 96]),
        offenders_mark: Vec::new(),
        seal: ByteArray([0; 96]),
    }
}
