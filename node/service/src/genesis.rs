//! The dev genesis: the JIP-5 dev validators (or any validator set) and the
//! CoreChains service (id [`CORECHAINS`]) with its authorizer and the
//! sample paras registered at their genesis heads; every core's
//! authorizer pool admits each para's packages and the registrar's.

use parajam_authoring::{genesis_header, Genesis, GenesisError};
use parajam_bandersnatch::RingContext;
use parajam_corechains_build::genesis::{service_account, GenesisPara};
use parajam_corechains_build::AUTHORIZER_CODE_HASH;
use parajam_corechains_types::state::ServiceConfig;
use parajam_corechains_types::{AuthConfig, AuthScope, ParaId};
use parajam_primitives::types::{
    AuthorizerHash, OpaqueHash, ServiceId, ValidatorsData, WorkItem, WorkPackage,
};
use parajam_primitives::ProtocolParameters;
use parajam_spec::{Bootnode, ChainSpec};
use parajam_state::State;
use parity_scale_codec::Encode;

/// The CoreChains service's id on a dev chain.
pub const CORECHAINS: ServiceId = 1000;
/// The adder's para id on a dev chain.
pub const ADDER: ParaId = ParaId(2000);
/// The para id runtime/parachain gets when registered.
pub const PARACHAIN: ParaId = ParaId(2001);
/// Paras every core's authorizer pool admits though the genesis does not
/// register them: runtime/parachain ([`PARACHAIN`]) is registered at run
/// time by the registrar's work package (`parajam collate` sends it), so
/// that building the spec needs no runtime build.
pub const ADMITTED: [ParaId; 1] = [PARACHAIN];
/// The slots a para's code upgrade waits for its go-ahead.
pub const UPGRADE_DELAY: u32 = 4;
/// The CoreChains account's balance at genesis.
const BALANCE: u64 = 1 << 50;

/// A para registered at genesis.
#[derive(Clone)]
pub struct DevPara {
    /// Its id.
    pub id: ParaId,
    /// Its genesis head.
    pub head: Vec<u8>,
    /// Its PVF artifact (`parajam_corechains_types::pvf`).
    pub pvf: Vec<u8>,
}

impl std::fmt::Debug for DevPara {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevPara")
            .field("id", &self.id.0)
            .field("head_len", &self.head.len())
            .field("pvf_len", &self.pvf.len())
            .finish()
    }
}

impl DevPara {
    /// The adder (`runtime/adder`) at its genesis head.
    pub fn adder() -> Self {
        Self {
            id: ADDER,
            head: parajam_adder::HeadData::genesis(0).encode().to_vec(),
            pvf: parajam_adder_build::PVF_ARTIFACT.to_vec(),
        }
    }
}

/// `H(u ⌢ f)`: the CoreChains authorizer for `scope` (GP eq. 14.x's
/// authorizer hash, as the service's accumulate computes it).
pub fn authorizer(scope: AuthScope) -> AuthorizerHash {
    let config = ServiceConfig::new(AUTHORIZER_CODE_HASH, UPGRADE_DELAY);
    OpaqueHash::from(parajam_corechains_service::accumulate::authorizer_hash(
        &config, CORECHAINS, scope,
    ))
}

/// The authorizer configuration `f` of the CoreChains authorizer for `scope`.
pub fn auth_config(scope: AuthScope) -> Vec<u8> {
    AuthConfig {
        service: CORECHAINS,
        scope,
    }
    .encode()
}

/// The CoreChains authorizer scope `package` asks for, if it names the
/// CoreChains authorizer at all.
pub fn scope_of(package: &WorkPackage) -> Option<AuthScope> {
    use parity_scale_codec::DecodeAll;
    let config = AuthConfig::decode_all(&mut &package.authorizer_config.0[..]).ok()?;
    (package.auth_code_host == CORECHAINS && config.service == CORECHAINS).then_some(config.scope)
}

/// Whether `item` is for the CoreChains service.
pub fn is_corechains(item: &WorkItem) -> bool {
    item.service == CORECHAINS
}

/// The genesis state of `validators` with the CoreChains service and
/// `paras`. `ring` must serve rings of `V` keys.
pub fn genesis_state(
    params: &ProtocolParameters,
    validators: ValidatorsData,
    paras: &[DevPara],
    ring: &RingContext,
) -> Result<State, GenesisError> {
    let genesis_paras: Vec<GenesisPara<'_>> = paras
        .iter()
        .map(|p| GenesisPara {
            id: p.id,
            head: &p.head,
            pvf: &p.pvf,
        })
        .collect();
    let mut genesis = Genesis::new(params, validators).with_service(
        CORECHAINS,
        service_account(BALANCE, UPGRADE_DELAY, &genesis_paras),
    );
    // Each core admits every para's packages, those of the paras the
    // registrar registers at run time ([`ADMITTED`]) and the registrar's:
    // the pool holds them all (`O` = 8 in both parameter sets).
    let mut ids: Vec<ParaId> = paras.iter().map(|p| p.id).chain(ADMITTED).collect();
    ids.sort_unstable();
    ids.dedup();
    let pool: Vec<AuthorizerHash> = ids
        .into_iter()
        .map(|p| authorizer(AuthScope::Para(p)))
        .chain([authorizer(AuthScope::Registrar)])
        .collect();
    genesis.authorizers = vec![pool; usize::from(params.core_count)];
    genesis.build(params, ring)
}

/// A JIP-4 spec named `id` of `state`, with `bootnodes`.
pub fn spec(
    id: &str,
    bootnodes: Vec<Bootnode>,
    state: &State,
    params: ProtocolParameters,
) -> ChainSpec {
    ChainSpec::new(id, bootnodes, genesis_header(state), state, params)
}
