//! The CoreChains service account at genesis: what a dev chain (or a test)
//! puts in state so that the service runs and its paras are registered.

use parajam_corechains_types::state::{ServiceConfig, StorageKey};
use parajam_corechains_types::{HeadData, ParaId, ValidationCodeHash};
use parajam_primitives::types::{OpaqueHash, ServiceAccount, ServiceInfo};
use parity_scale_codec::Encode;

use crate::{AUTHORIZER_CODE, AUTHORIZER_CODE_HASH, SERVICE_CODE, SERVICE_CODE_HASH};

/// A para registered at genesis.
#[derive(Debug, Clone, Copy)]
pub struct GenesisPara<'a> {
    /// Its id.
    pub id: ParaId,
    /// Its genesis head's octets.
    pub head: &'a [u8],
    /// Its PVF artifact (`parajam_corechains_types::pvf`).
    pub pvf: &'a [u8],
}

/// The CoreChains service account holding `balance`: the service's code,
/// the authorizer's code and each para's PVF as preimages, each requested
/// (and so available) since slot 0; its storage holds the
/// [`ServiceConfig`] (this build's authorizer, `upgrade_delay`) and each
/// para's registration, head and code hash.
pub fn service_account(
    balance: u64,
    upgrade_delay: u32,
    paras: &[GenesisPara<'_>],
) -> ServiceAccount {
    let mut account = ServiceAccount::with_info(ServiceInfo {
        code_hash: OpaqueHash::from(SERVICE_CODE_HASH),
        balance,
        ..ServiceInfo::default()
    });
    let blobs = [SERVICE_CODE, AUTHORIZER_CODE]
        .into_iter()
        .chain(paras.iter().map(|p| p.pvf));
    for blob in blobs {
        let hash = OpaqueHash::from(parajam_crypto::blake2b_256(blob));
        account.set_preimage(&hash, Some(blob.to_vec()));
        // A preimage is at most `W_C` octets (4 MB); its length fits.
        let len = u32::try_from(blob.len()).unwrap_or(u32::MAX);
        account.set_request(&hash, len, Some(&[0]));
    }
    let config = ServiceConfig::new(AUTHORIZER_CODE_HASH, upgrade_delay);
    let mut ids: Vec<ParaId> = paras.iter().map(|p| p.id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut entries = vec![
        (StorageKey::Config, config.encode()),
        (StorageKey::Paras, ids.encode()),
    ];
    for para in paras {
        let code = ValidationCodeHash(parajam_crypto::blake2b_256(para.pvf));
        entries.push((
            StorageKey::Head(para.id),
            HeadData(para.head.to_vec()).encode(),
        ));
        entries.push((StorageKey::Code(para.id), code.encode()));
    }
    for (key, value) in entries {
        account.set_storage(&key.to_key(), Some(value));
    }
    account
}
