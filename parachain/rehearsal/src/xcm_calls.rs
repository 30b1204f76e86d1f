//! The calls a para's accounts make to drive XCM, encoded with
//! `staging-xcm` for runtime/parachain's `pallet-xcm` (any runtime whose
//! metadata names `PolkadotXcm` and `Sudo`):
//!
//! - the HRMP channel lifecycle, as a para's governance asks its relay
//!   chain: `Sudo::sudo(PolkadotXcm::send(Parent, [UnpaidExecution,
//!   Transact(Native, hrmp call)]))` (root sends as the para itself:
//!   `EnsureXcmOrigin`'s root fallback gives the location `Here`, so no
//!   `DescendOrigin` is prepended);
//! - a native-token reserve transfer to a sibling
//!   (`PolkadotXcm::limited_reserve_transfer_assets`), and a relay-token
//!   reserve withdrawal to a JAM service ([`reserve_withdraw_to_service`]);
//! - what the relay chain's governance sends a para to make a root call
//!   there (a runtime upgrade's `System::authorize_upgrade`):
//!   [`governance_transact`], and the same instructions sent by a sibling
//!   ([`sudo_send`] to `(1, Parachain(id))`), which must not be root.

use parajam_collator::TxFormat;
use parity_scale_codec::Encode;
use staging_xcm::latest::prelude::*;
use staging_xcm::{VersionedAssets, VersionedLocation, VersionedXcm};

use crate::RehearsalError;

/// The relay chain's `hrmp` pallet index the service maps
/// (`HrmpConfig::DEFAULT.hrmp_pallet_index`: Polkadot's 60).
pub const HRMP_PALLET: u8 = 60;

/// The pallet of `pallet-xcm` in the runtime's metadata.
const XCM_PALLET: &str = "PolkadotXcm";

fn call(tx: &TxFormat, pallet: &str, name: &str, args: &[u8]) -> Result<Vec<u8>, RehearsalError> {
    Ok(tx.call(pallet, name, args)?)
}

/// `hrmp_init_open_channel(recipient, max_capacity, max_message_size)`,
/// encoded for the relay chain.
pub fn hrmp_init_open_channel(recipient: u32, max_capacity: u32, max_message_size: u32) -> Vec<u8> {
    let mut out = vec![HRMP_PALLET, 0];
    (recipient, max_capacity, max_message_size).encode_to(&mut out);
    out
}

/// `hrmp_accept_open_channel(sender)`.
pub fn hrmp_accept_open_channel(sender: u32) -> Vec<u8> {
    let mut out = vec![HRMP_PALLET, 1];
    sender.encode_to(&mut out);
    out
}

/// `hrmp_close_channel(HrmpChannelId { sender, recipient })`.
pub fn hrmp_close_channel(sender: u32, recipient: u32) -> Vec<u8> {
    let mut out = vec![HRMP_PALLET, 2];
    (sender, recipient).encode_to(&mut out);
    out
}

/// The upward XCM of a relay-chain call made by the para itself:
/// `[UnpaidExecution, Transact(Native, call)]`.
pub fn upward_transact(relay_call: Vec<u8>) -> Xcm<()> {
    Xcm(vec![
        UnpaidExecution {
            weight_limit: Unlimited,
            check_origin: None,
        },
        Transact {
            origin_kind: OriginKind::Native,
            fallback_max_weight: None,
            call: relay_call.into(),
        },
    ])
}

/// `[UnpaidExecution, Transact(Superuser, call)]`: a root call on a para,
/// as relay governance sends it (Polkadot's referenda on system chains:
/// `XcmPallet::send` with root origin of exactly these instructions); the
/// para's barrier must let its parent run unpaid and `ParentAsSuperuser`
/// makes the `Transact` root.
pub fn superuser_transact(call: Vec<u8>) -> Xcm<()> {
    Xcm(vec![
        UnpaidExecution {
            weight_limit: Unlimited,
            check_origin: None,
        },
        Transact {
            origin_kind: OriginKind::Superuser,
            fallback_max_weight: None,
            call: call.into(),
        },
    ])
}

/// The downward message of [`superuser_transact`] as the relay chain
/// queues it: a `VersionedXcm` with a trailing `SetTopic` (the relay
/// chain's router is `WithUniqueTopic`, which appends one; here the
/// topic is Blake2b-256 of the message without it).
pub fn governance_transact(call: Vec<u8>) -> Vec<u8> {
    let mut message = superuser_transact(call);
    let topic = parajam_crypto::blake2b_256(&VersionedXcm::<()>::from(message.clone()).encode());
    message.0.push(SetTopic(topic));
    VersionedXcm::<()>::from(message).encode()
}

/// `Sudo::sudo(PolkadotXcm::send(dest, message))`: root sends `message`
/// to `dest` as the para.
pub fn sudo_send(
    tx: &TxFormat,
    dest: Location,
    message: Xcm<()>,
) -> Result<Vec<u8>, RehearsalError> {
    let args = (
        VersionedLocation::from(dest),
        VersionedXcm::<()>::from(message),
    )
        .encode();
    let send = call(tx, XCM_PALLET, "send", &args)?;
    Ok(tx.sudo(&send)?)
}

/// `Sudo::sudo(PolkadotXcm::send(Parent, upward_transact(relay_call)))`.
pub fn sudo_relay_call(tx: &TxFormat, relay_call: Vec<u8>) -> Result<Vec<u8>, RehearsalError> {
    sudo_send(tx, Location::parent(), upward_transact(relay_call))
}

/// `PolkadotXcm::limited_reserve_transfer_assets` of `amount` of the
/// native token (`Here`) to `beneficiary` (an `AccountId32`) on sibling
/// `para`, fees paid from it, no weight limit.
pub fn reserve_transfer_native(
    tx: &TxFormat,
    para: u32,
    beneficiary: [u8; 32],
    amount: u128,
) -> Result<Vec<u8>, RehearsalError> {
    let dest = VersionedLocation::from(Location::new(1, [Parachain(para)]));
    let beneficiary = VersionedLocation::from(Location::new(
        0,
        [AccountId32 {
            network: None,
            id: beneficiary,
        }],
    ));
    let assets = VersionedAssets::from(Assets::from(vec![(Here, amount).into()]));
    let args = (dest, beneficiary, assets, 0u32, Unlimited).encode();
    call(tx, XCM_PALLET, "limited_reserve_transfer_assets", &args)
}

/// `PolkadotXcm::limited_reserve_transfer_assets` of `amount` of the
/// relay chain's token (`Parent`) to JAM service `service` (the relay
/// chain's `(0, GeneralIndex(service))`), no weight limit: the relay chain
/// is the token's reserve, so `pallet-xcm` withdraws it here and sends the
/// relay chain `[WithdrawAsset, ClearOrigin, BuyExecution, DepositAsset,
/// SetTopic]` (`InitiateReserveWithdraw`), which the CoreChains service
/// turns into a JAM transfer to `service`.
pub fn reserve_withdraw_to_service(
    tx: &TxFormat,
    service: u32,
    amount: u128,
) -> Result<Vec<u8>, RehearsalError> {
    let dest = VersionedLocation::from(Location::parent());
    let beneficiary =
        VersionedLocation::from(Location::new(0, [GeneralIndex(u128::from(service))]));
    let assets = VersionedAssets::from(Assets::from(vec![(Parent, amount).into()]));
    let args = (dest, beneficiary, assets, 0u32, Unlimited).encode();
    call(tx, XCM_PALLET, "limited_reserve_transfer_assets", &args)
}

/// Sibling `para`, as a para addresses it: `(1, Parachain(para))`.
pub fn sibling_location(para: u32) -> Location {
    Location::new(1, [Parachain(para)])
}

/// The sovereign account of sibling `para` on a para
/// (`SiblingParachainConvertsVia`: `"sibl" ‖ E(para)`, zero-padded).
pub fn sibling_account(para: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..4].copy_from_slice(b"sibl");
    out[4..8].copy_from_slice(&para.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrmp_calls_decode_as_the_service_decodes_them() {
        assert_eq!(
            hrmp_init_open_channel(2001, 8, 1024),
            [
                vec![60, 0],
                2001u32.encode(),
                8u32.encode(),
                1024u32.encode()
            ]
            .concat()
        );
        assert_eq!(
            hrmp_accept_open_channel(2000),
            [vec![60, 1], 2000u32.encode()].concat()
        );
        assert_eq!(
            hrmp_close_channel(2000, 2001),
            [vec![60, 2], 2000u32.encode(), 2001u32.encode()].concat()
        );
        assert_eq!(&sibling_account(2001)[..8], b"sibl\xd1\x07\0\0");
    }

    #[test]
    fn governance_sends_an_unpaid_superuser_transact_with_its_topic() {
        use parity_scale_codec::Decode;
        let call = vec![0, 9, 1, 2, 3];
        let encoded = governance_transact(call.clone());
        let VersionedXcm::V5(message) =
            VersionedXcm::<()>::decode(&mut &encoded[..]).expect("a VersionedXcm")
        else {
            panic!("not v5");
        };
        let without_topic = superuser_transact(call.clone());
        assert_eq!(message.0[..2], without_topic.0[..]);
        assert!(matches!(
            &message.0[1],
            Transact { origin_kind: OriginKind::Superuser, call: c, .. } if c.encode() == call.encode()
        ));
        let topic = parajam_crypto::blake2b_256(&VersionedXcm::<()>::from(without_topic).encode());
        assert_eq!(message.0.last(), Some(&SetTopic(topic)));
        assert_eq!(message.0.len(), 3);
    }
}
