//! Driving the CoreChains service on a JAM dev chain, as a collator and a
//! guarantor do: a work package of one CoreChains item ([`package`]), its
//! work report by `Ξ` ([`guarantee`]), and the report guaranteed, assured
//! and accumulated ([`enact`]). [`crate::Rehearsal`] is built on these; the
//! end-to-end tests of the service call them directly.

use parajam_authoring::{Contents, DevChain};
use parajam_corechains_build::{AUTHORIZER_CODE_HASH, SERVICE_CODE_HASH};
use parajam_corechains_types::state::ServiceConfig;
use parajam_corechains_types::{AuthConfig, AuthScope, WorkItemPayload};
use parajam_guarantor::{Executor, Guaranteed, Guarantor, NoSegments};
use parajam_primitives::types::{
    CoreIndex, ExtrinsicSpec, OpaqueHash, RefineContext, ServiceId, WorkItem, WorkPackage,
};
use parajam_pvm::Backend;
use parity_scale_codec::Encode;

use crate::{ChainFailure, RehearsalError};

/// The CoreChains service's id on a rehearsal chain.
pub const SERVICE: ServiceId = 1000;

/// The authorizer configuration `f` of the CoreChains authorizer for
/// `scope`.
pub fn auth_config(scope: AuthScope) -> Vec<u8> {
    auth_config_of(SERVICE, scope)
}

/// The authorizer configuration `f` of the CoreChains authorizer for
/// `scope` on CoreChains instance `service`.
pub fn auth_config_of(service: ServiceId, scope: AuthScope) -> Vec<u8> {
    AuthConfig { service, scope }.encode()
}

/// `H(u ⌢ f)`: the CoreChains authorizer for `scope`, as accumulate
/// recomputes it (for the authorizer pools of a genesis).
pub fn authorizer(scope: AuthScope, upgrade_delay: u32) -> OpaqueHash {
    authorizer_of(SERVICE, scope, upgrade_delay)
}

/// [`authorizer`] for CoreChains instance `service`.
pub fn authorizer_of(service: ServiceId, scope: AuthScope, upgrade_delay: u32) -> OpaqueHash {
    let config = ServiceConfig::new(AUTHORIZER_CODE_HASH, upgrade_delay);
    OpaqueHash::from(parajam_corechains_service::accumulate::authorizer_hash(
        &config, service, scope,
    ))
}

/// The gas limits of a work item.
#[derive(Debug, Clone, Copy)]
pub struct ItemGas {
    /// `g`: refine's.
    pub refine: u64,
    /// `a`: accumulate's.
    pub accumulate: u64,
}

impl ItemGas {
    /// The most a work report allows: `G_R` and `G_A`.
    pub fn most(chain: &DevChain) -> Self {
        let params = chain.params();
        Self {
            refine: params.gas_refine,
            accumulate: params.gas_accumulate_report,
        }
    }
}

/// A package of one CoreChains item with `payload` and `extrinsics`,
/// authorized under `scope`, in `context`.
pub fn package(
    context: RefineContext,
    scope: AuthScope,
    payload: &WorkItemPayload,
    extrinsics: &[Vec<u8>],
    gas: ItemGas,
) -> Result<WorkPackage, RehearsalError> {
    package_of(SERVICE, context, scope, payload, extrinsics, gas)
}

/// [`package`] for CoreChains instance `service` (its authorizer, hosted
/// by it, and its item).
pub fn package_of(
    service: ServiceId,
    context: RefineContext,
    scope: AuthScope,
    payload: &WorkItemPayload,
    extrinsics: &[Vec<u8>],
    gas: ItemGas,
) -> Result<WorkPackage, RehearsalError> {
    let extrinsic = extrinsics
        .iter()
        .map(|x| {
            Ok(ExtrinsicSpec {
                hash: OpaqueHash::from(parajam_crypto::blake2b_256(x)),
                len: u32::try_from(x.len()).map_err(|_| ChainFailure::ExtrinsicTooLarge)?,
            })
        })
        .collect::<Result<Vec<_>, RehearsalError>>()?;
    Ok(WorkPackage {
        auth_code_host: service,
        auth_code_hash: OpaqueHash::from(AUTHORIZER_CODE_HASH),
        context,
        authorization: Vec::new().into(),
        authorizer_config: auth_config_of(service, scope).into(),
        items: vec![WorkItem {
            service,
            code_hash: OpaqueHash::from(SERVICE_CODE_HASH),
            refine_gas_limit: gas.refine,
            accumulate_gas_limit: gas.accumulate,
            export_count: 0,
            payload: payload.encode().into(),
            import_segments: vec![],
            extrinsic,
        }]
        .into(),
    })
}

/// `Ξ(p, c)`: the work report of `package` (one item, with `extrinsics`)
/// for `core`, by a guarantor on the chain's current accounts, running the
/// service on `backend`.
pub fn guarantee(
    chain: &DevChain,
    backend: Backend,
    package: &WorkPackage,
    extrinsics: &[Vec<u8>],
    core: CoreIndex,
) -> Result<Guaranteed, RehearsalError> {
    let guarantor = Guarantor {
        executor: Executor {
            pvm: chain.pvm(),
            backend,
            crosscheck: false,
        },
        params: chain.params(),
    };
    guarantor
        .process(
            &chain.state().accounts,
            package,
            core,
            &[extrinsics.to_vec()],
            &NoSegments,
        )
        .map_err(|e| RehearsalError::Chain(e.into()))
}

/// Guarantees the report in the chain's next block; it is assured, and
/// accumulated, in the one after.
pub fn enact(chain: &mut DevChain, guaranteed: Guaranteed) -> Result<(), RehearsalError> {
    let core = guaranteed.report.core_index;
    let validators = chain.params().validators_count;
    chain
        .author_next(Contents {
            reports: vec![guaranteed.report],
            ..Contents::default()
        })
        .map_err(|e| RehearsalError::Chain(e.into()))?;
    chain
        .assure_next(&[core], 0..validators)
        .map_err(|e| RehearsalError::Chain(e.into()))?;
    Ok(())
}
