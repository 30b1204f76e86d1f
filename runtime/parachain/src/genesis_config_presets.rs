//! Genesis presets for the `GenesisBuilder` runtime API: a collator builds
//! the genesis state from one of these JSON patches.
//!
//! - `development` ([`sp_genesis_builder::DEV_RUNTIME_PRESET`]): para id
//!   [`PARA_ID`], Alice the only aura authority (the collator), the dev
//!   accounts (Alice, Bob, Charlie, Dave, Eve, Ferdie and their `//stash`
//!   accounts) endowed with [`ENDOWMENT`] each;
//! - `local_testnet`: the same with Alice and Bob as aura authorities.
//!
//! In both, Alice holds the sudo key.

use alloc::{vec, vec::Vec};

use frame_support::build_struct_json_patch;
use sp_genesis_builder::PresetId;
use sp_keyring::Sr25519Keyring;

use crate::{
    AccountId, AuraConfig, AuraId, Balance, BalancesConfig, ParachainInfoConfig, PolkadotXcmConfig,
    RuntimeGenesisConfig, SudoConfig, PARA_ID, UNIT,
};

/// What each dev account starts with: a million units.
pub const ENDOWMENT: Balance = 1_000_000 * UNIT;

/// The genesis patch: `authorities` seal blocks, `endowed` hold [`ENDOWMENT`].
fn genesis(authorities: Vec<AuraId>, endowed: Vec<AccountId>, para_id: u32) -> serde_json::Value {
    build_struct_json_patch!(RuntimeGenesisConfig {
        balances: BalancesConfig {
            balances: endowed
                .into_iter()
                .map(|account| (account, ENDOWMENT))
                .collect(),
        },
        parachain_info: ParachainInfoConfig {
            parachain_id: para_id.into()
        },
        aura: AuraConfig { authorities },
        sudo: SudoConfig {
            key: Some(Sr25519Keyring::Alice.to_account_id())
        },
        polkadot_xcm: PolkadotXcmConfig {
            safe_xcm_version: Some(xcm::prelude::XCM_VERSION)
        },
    })
}

fn dev_accounts() -> Vec<AccountId> {
    Sr25519Keyring::well_known()
        .map(|key| key.to_account_id())
        .collect()
}

/// The JSON patch of preset `id`.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
    let patch = match id.as_ref() {
        sp_genesis_builder::DEV_RUNTIME_PRESET => genesis(
            vec![Sr25519Keyring::Alice.public().into()],
            dev_accounts(),
            PARA_ID,
        ),
        sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => genesis(
            vec![
                Sr25519Keyring::Alice.public().into(),
                Sr25519Keyring::Bob.public().into(),
            ],
            dev_accounts(),
            PARA_ID,
        ),
        _ => return None,
    };
    serde_json::to_vec(&patch).ok()
}

/// The presets this runtime has.
pub fn preset_names() -> Vec<PresetId> {
    vec![
        PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
        PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
    ]
}

#[cfg(test)]
mod tests {
    use frame_support::genesis_builder_helper::build_state;

    use super::*;
    use crate::{Balances, ParachainInfo, Runtime};

    /// `patch` over `base`, objects key by key (what a node does with a
    /// preset before `build_state`).
    fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
        match (base, patch) {
            (serde_json::Value::Object(base), serde_json::Value::Object(patch)) => {
                for (key, value) in patch {
                    merge(base.entry(key).or_insert(serde_json::Value::Null), value);
                }
            }
            (base, patch) => *base = patch,
        }
    }

    /// The `GenesisBuilder` API's path: the preset's patch over the default
    /// config, built into storage.
    fn genesis_storage(preset: &str) -> sp_io::TestExternalities {
        let patch = get_preset(&PresetId::from(preset)).expect("the preset exists");
        let mut config =
            serde_json::to_value(RuntimeGenesisConfig::default()).expect("the default config");
        merge(
            &mut config,
            serde_json::from_slice(&patch).expect("the patch is JSON"),
        );
        let config = serde_json::to_vec(&config).expect("JSON");
        let mut ext = sp_io::TestExternalities::default();
        ext.execute_with(|| {
            build_state::<RuntimeGenesisConfig>(config).expect("the preset builds");
        });
        ext
    }

    #[test]
    fn development_preset() {
        genesis_storage(sp_genesis_builder::DEV_RUNTIME_PRESET).execute_with(|| {
            assert_eq!(ParachainInfo::parachain_id(), PARA_ID.into());
            let authorities = pallet_aura::Authorities::<Runtime>::get();
            let alice: AuraId = Sr25519Keyring::Alice.public().into();
            assert_eq!(authorities.into_inner(), vec![alice]);
            for account in dev_accounts() {
                assert_eq!(Balances::free_balance(&account), ENDOWMENT);
            }
        });
    }

    #[test]
    fn local_testnet_preset() {
        genesis_storage(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET).execute_with(|| {
            assert_eq!(pallet_aura::Authorities::<Runtime>::get().len(), 2);
        });
    }

    #[test]
    fn presets_are_listed() {
        assert_eq!(preset_names().len(), 2);
        assert!(get_preset(&PresetId::from("no such preset")).is_none());
    }
}
