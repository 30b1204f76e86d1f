//! The CoreChains service account at genesis: what a dev chain (or a test)
//! puts in state so that the service runs and its paras are registered.

use parajam_corechains_types::state::{ServiceConfig, StorageKey};
use parajam_corechains_types::{HeadData, ParaId, ValidationCodeHash};
use parajam_primitives::types::{OpaqueHash, ServiceAccount, ServiceInfo};
use parajam_xcm_adapter::hrmp::{self, ChannelError};
use parajam_xcm_adapter::{HrmpConfig, Overlay, Storage};
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

/// An HRMP channel open at genesis (as the relay chain's
/// `preopen_hrmp_channels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenesisChannel {
    /// The sender.
    pub sender: ParaId,
    /// The recipient.
    pub recipient: ParaId,
    /// The most messages it holds.
    pub max_capacity: u32,
    /// The largest message, in octets.
    pub max_message_size: u32,
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

/// A service account's storage as the XCM adapter reads it.
struct AccountStorage<'a>(&'a ServiceAccount);

impl Storage for AccountStorage<'_> {
    fn get(&mut self, key: &StorageKey) -> Option<Vec<u8>> {
        self.0.storage(&key.to_key()).map(<[u8]>::to_vec)
    }
}

/// [`service_account`] with `channels` open (the XCM adapter's
/// `open_genesis_channel`, in order, with [`HrmpConfig::DEFAULT`]'s limits),
/// or the first channel it refuses, with why.
pub fn service_account_with_channels(
    balance: u64,
    upgrade_delay: u32,
    paras: &[GenesisPara<'_>],
    channels: &[GenesisChannel],
) -> Result<ServiceAccount, (GenesisChannel, ChannelError)> {
    let mut account = service_account(balance, upgrade_delay, paras);
    let mut storage = AccountStorage(&account);
    let mut overlay = Overlay::new(&mut storage);
    for channel in channels {
        hrmp::open_genesis_channel(
            &mut overlay,
            &HrmpConfig::DEFAULT,
            channel.sender,
            channel.recipient,
            channel.max_capacity,
            channel.max_message_size,
        )
        .map_err(|error| (*channel, error))?;
    }
    let changes = overlay.into_changes();
    for (key, value) in changes {
        account.set_storage(&key.to_key(), value);
    }
    Ok(account)
}

#[cfg(test)]
mod tests {
    use parajam_xcm_adapter::HrmpChannelId;

    use super::*;

    fn storage(account: &ServiceAccount, key: StorageKey) -> Option<Vec<u8>> {
        account.storage(&key.to_key()).map(<[u8]>::to_vec)
    }

    #[test]
    fn genesis_channels_are_open_or_refused_with_why() {
        let paras = [
            GenesisPara {
                id: ParaId(2000),
                head: &[1],
                pvf: &[0xaa],
            },
            GenesisPara {
                id: ParaId(2001),
                head: &[2],
                pvf: &[0xbb],
            },
        ];
        let channel = GenesisChannel {
            sender: ParaId(2000),
            recipient: ParaId(2001),
            max_capacity: 8,
            max_message_size: 1024,
        };
        let account = service_account_with_channels(1, 5, &paras, &[channel]).expect("opens");
        let id = HrmpChannelId {
            sender: ParaId(2000),
            recipient: ParaId(2001),
        };
        assert!(storage(&account, StorageKey::HrmpChannel(id)).is_some());
        assert_eq!(
            storage(&account, StorageKey::HrmpIngress(ParaId(2001))),
            Some(vec![ParaId(2000)].encode())
        );
        let plain = service_account(1, 5, &paras);
        assert!(storage(&plain, StorageKey::HrmpChannel(id)).is_none());
        assert_eq!(
            storage(&plain, StorageKey::Paras),
            storage(&account, StorageKey::Paras)
        );
        let to_nowhere = GenesisChannel {
            recipient: ParaId(9),
            ..channel
        };
        assert_eq!(
            service_account_with_channels(1, 5, &paras, &[to_nowhere]).err(),
            Some((to_nowhere, ChannelError::InvalidPara(ParaId(9))))
        );
    }
}
