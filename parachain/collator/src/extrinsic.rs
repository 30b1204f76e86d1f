//! Signed extrinsics built from the runtime's metadata alone: the call's
//! indices, the address and signature formats and the transaction-extension
//! list all come from `Metadata_metadata_at_version` (15 or 16).

use frame_metadata::{RuntimeMetadata, RuntimeMetadataPrefixed};
use parity_scale_codec::{Compact, Decode, Encode};
use scale_info::{form::PortableForm, PortableRegistry, TypeDef, TypeDefPrimitive};
use sp_core::{sr25519, Pair as _, H256};

use crate::CollatorError;

/// The extrinsic format version the collator writes (signed, v4).
pub const EXTRINSIC_VERSION: u8 = 4;

/// How an account is written in a call or as a signer's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AccountFormat {
    /// `MultiAddress::Id` (the variant's index), then the 32 octets.
    MultiAddressId(u8),
    /// The 32 octets of an `AccountId32`.
    Raw,
}

/// How a balance is written in a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BalanceFormat {
    /// SCALE compact.
    Compact,
    /// Little-endian, this many octets.
    Fixed(usize),
}

/// What a transaction extension adds: its explicit data (in the
/// extrinsic) and its implicit data (only in the signed payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExtensionKind {
    /// Neither (`CheckNonZeroSender`, `CheckWeight`, `WeightReclaim`,
    /// `StorageWeightReclaim` and any extension whose both types are empty).
    Empty,
    /// Implicit `spec_version: u32`.
    SpecVersion,
    /// Implicit `transaction_version: u32`.
    TxVersion,
    /// Implicit genesis hash.
    Genesis,
    /// Explicit `Era::Immortal`, implicit genesis hash.
    Mortality,
    /// Explicit `Compact<nonce>`.
    Nonce,
    /// Explicit `Compact<tip>` (0).
    Tip,
    /// Explicit `Compact<tip>` (0) and `Option<asset id>` (`None`).
    AssetTip,
    /// Explicit mode `Disabled`, implicit `Option<hash>` (`None`).
    MetadataHash,
}

/// A transaction extension of the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// Its identifier in the metadata.
    pub identifier: String,
    kind: ExtensionKind,
}

/// What signing needs to know of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainContext {
    /// The runtime's `spec_version`.
    pub spec_version: u32,
    /// The runtime's `transaction_version`.
    pub transaction_version: u32,
    /// The para's genesis hash.
    pub genesis_hash: H256,
}

/// The runtime's signed-extrinsic format, read from its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxFormat {
    /// The metadata version it was read from.
    pub metadata_version: u32,
    /// `Balances` pallet index and `transfer_keep_alive` call index.
    pub transfer_keep_alive: [u8; 2],
    dest: AccountFormat,
    value: BalanceFormat,
    address: AccountFormat,
    sr25519_signature_variant: u8,
    /// The transaction extensions, in order.
    pub extensions: Vec<Extension>,
    /// Every pallet's calls.
    calls: Vec<PalletCalls>,
}

/// A pallet's calls: its name and index, and each call's name and index.
type PalletCalls = (String, u8, Vec<(String, u8)>);

/// Every pallet's calls in `parts`.
fn pallet_calls(parts: &Parts<'_>) -> Result<Vec<PalletCalls>, CollatorError> {
    parts
        .pallets
        .iter()
        .map(|&(name, index, calls)| {
            let names = match calls.map(|id| resolve(parts.types, id)).transpose()? {
                Some(ty) => match &ty.type_def {
                    TypeDef::Variant(v) => v
                        .variants
                        .iter()
                        .map(|c| (c.name.clone(), c.index))
                        .collect(),
                    _ => Vec::new(),
                },
                None => Vec::new(),
            };
            Ok((name.to_owned(), index, names))
        })
        .collect()
}

/// The metadata parts the collator reads, common to V15 and V16.
struct Parts<'a> {
    types: &'a PortableRegistry,
    versions: Vec<u8>,
    address_ty: u32,
    signature_ty: u32,
    /// (identifier, explicit type, implicit type)
    extensions: Vec<(&'a str, u32, u32)>,
    /// (name, index, call type)
    pallets: Vec<(&'a str, u8, Option<u32>)>,
}

fn parts(metadata: &RuntimeMetadata) -> Result<Parts<'_>, CollatorError> {
    match metadata {
        RuntimeMetadata::V16(m) => {
            let all: Vec<_> = m
                .extrinsic
                .transaction_extensions
                .iter()
                .map(|e| (e.identifier.as_str(), e.ty.id, e.implicit.id))
                .collect();
            // Extension version 0: the one signed (v4) extrinsics use.
            let extensions = match m.extrinsic.transaction_extensions_by_version.get(&0) {
                Some(indices) => indices
                    .iter()
                    .map(|Compact(i)| {
                        all.get(*i as usize).copied().ok_or_else(|| {
                            CollatorError::Metadata(format!(
                                "transaction extension index {i} out of range"
                            ))
                        })
                    })
                    .collect::<Result<_, _>>()?,
                None => all,
            };
            Ok(Parts {
                types: &m.types,
                versions: m.extrinsic.versions.clone(),
                address_ty: m.extrinsic.address_ty.id,
                signature_ty: m.extrinsic.signature_ty.id,
                extensions,
                pallets: m
                    .pallets
                    .iter()
                    .map(|p| (p.name.as_str(), p.index, p.calls.as_ref().map(|c| c.ty.id)))
                    .collect(),
            })
        }
        RuntimeMetadata::V15(m) => Ok(Parts {
            types: &m.types,
            versions: vec![m.extrinsic.version],
            address_ty: m.extrinsic.address_ty.id,
            signature_ty: m.extrinsic.signature_ty.id,
            extensions: m
                .extrinsic
                .signed_extensions
                .iter()
                .map(|e| (e.identifier.as_str(), e.ty.id, e.additional_signed.id))
                .collect(),
            pallets: m
                .pallets
                .iter()
                .map(|p| (p.name.as_str(), p.index, p.calls.as_ref().map(|c| c.ty.id)))
                .collect(),
        }),
        other => Err(CollatorError::Metadata(format!(
            "metadata version {} is not read (15 or 16 are)",
            other.version()
        ))),
    }
}

fn resolve(
    types: &PortableRegistry,
    id: u32,
) -> Result<&scale_info::Type<PortableForm>, CollatorError> {
    types
        .resolve(id)
        .ok_or_else(|| CollatorError::Metadata(format!("type {id} not in the registry")))
}

/// Whether values of type `id` encode to nothing.
fn is_empty_type(types: &PortableRegistry, id: u32, depth: u32) -> bool {
    if depth > 16 {
        return false;
    }
    let Some(ty) = types.resolve(id) else {
        return false;
    };
    match &ty.type_def {
        TypeDef::Tuple(t) => t
            .fields
            .iter()
            .all(|f| is_empty_type(types, f.id, depth + 1)),
        TypeDef::Composite(c) => c
            .fields
            .iter()
            .all(|f| is_empty_type(types, f.ty.id, depth + 1)),
        TypeDef::Array(a) => a.len == 0 || is_empty_type(types, a.type_param.id, depth + 1),
        _ => false,
    }
}

/// How an account of type `id` is written.
fn account_format(
    types: &PortableRegistry,
    id: u32,
    what: &str,
) -> Result<AccountFormat, CollatorError> {
    let ty = resolve(types, id)?;
    match &ty.type_def {
        TypeDef::Variant(v) => v
            .variants
            .iter()
            .find(|var| var.name == "Id")
            .map(|var| AccountFormat::MultiAddressId(var.index))
            .ok_or_else(|| {
                CollatorError::Metadata(format!("{what}: an enum without an `Id` variant"))
            }),
        TypeDef::Composite(c) if c.fields.len() == 1 => {
            match &resolve(types, c.fields[0].ty.id)?.type_def {
                TypeDef::Array(a) if a.len == 32 => Ok(AccountFormat::Raw),
                _ => Err(CollatorError::Metadata(format!(
                    "{what}: not a 32-octet account"
                ))),
            }
        }
        TypeDef::Array(a) if a.len == 32 => Ok(AccountFormat::Raw),
        _ => Err(CollatorError::Metadata(format!(
            "{what}: neither a MultiAddress nor an AccountId32"
        ))),
    }
}

fn balance_format(types: &PortableRegistry, id: u32) -> Result<BalanceFormat, CollatorError> {
    match &resolve(types, id)?.type_def {
        TypeDef::Compact(_) => Ok(BalanceFormat::Compact),
        TypeDef::Primitive(TypeDefPrimitive::U128) => Ok(BalanceFormat::Fixed(16)),
        TypeDef::Primitive(TypeDefPrimitive::U64) => Ok(BalanceFormat::Fixed(8)),
        TypeDef::Primitive(TypeDefPrimitive::U32) => Ok(BalanceFormat::Fixed(4)),
        _ => Err(CollatorError::Metadata(
            "transfer_keep_alive: the value is not an integer".into(),
        )),
    }
}

impl TxFormat {
    /// Reads the format from SCALE-encoded metadata (`RuntimeMetadataPrefixed`).
    pub fn from_metadata(encoded: &[u8]) -> Result<Self, CollatorError> {
        let prefixed = RuntimeMetadataPrefixed::decode(&mut &encoded[..])
            .map_err(|e| CollatorError::Metadata(format!("does not decode: {e}")))?;
        let metadata_version = prefixed.1.version();
        let parts = parts(&prefixed.1)?;
        let types = parts.types;
        if !parts.versions.contains(&EXTRINSIC_VERSION) {
            return Err(CollatorError::Metadata(format!(
                "extrinsic versions {:?} lack {EXTRINSIC_VERSION}",
                parts.versions
            )));
        }

        let (_, pallet_index, calls) = parts
            .pallets
            .iter()
            .find(|(name, _, _)| *name == "Balances")
            .copied()
            .ok_or_else(|| CollatorError::Metadata("no `Balances` pallet".into()))?;
        let calls =
            calls.ok_or_else(|| CollatorError::Metadata("`Balances` has no calls".into()))?;
        let TypeDef::Variant(calls) = &resolve(types, calls)?.type_def else {
            return Err(CollatorError::Metadata(
                "`Balances` calls are not an enum".into(),
            ));
        };
        let transfer = calls
            .variants
            .iter()
            .find(|v| v.name == "transfer_keep_alive")
            .ok_or_else(|| CollatorError::Metadata("no `Balances::transfer_keep_alive`".into()))?;
        let field = |name: &str, position: usize| {
            transfer
                .fields
                .iter()
                .find(|f| f.name.as_deref() == Some(name))
                .or_else(|| transfer.fields.get(position))
                .map(|f| f.ty.id)
                .ok_or_else(|| {
                    CollatorError::Metadata(format!("transfer_keep_alive has no `{name}`"))
                })
        };
        let dest = account_format(types, field("dest", 0)?, "transfer_keep_alive dest")?;
        let value = balance_format(types, field("value", 1)?)?;
        let address = account_format(types, parts.address_ty, "extrinsic address")?;

        let TypeDef::Variant(signature) = &resolve(types, parts.signature_ty)?.type_def else {
            return Err(CollatorError::Metadata(
                "the signature type is not a MultiSignature enum".into(),
            ));
        };
        let sr25519_signature_variant = signature
            .variants
            .iter()
            .find(|v| v.name == "Sr25519")
            .map(|v| v.index)
            .ok_or_else(|| CollatorError::Metadata("the signature enum has no `Sr25519`".into()))?;

        let extensions = parts
            .extensions
            .iter()
            .map(|&(identifier, explicit, implicit)| {
                let empty = is_empty_type(types, explicit, 0) && is_empty_type(types, implicit, 0);
                let kind = match identifier {
                    "CheckSpecVersion" => ExtensionKind::SpecVersion,
                    "CheckTxVersion" => ExtensionKind::TxVersion,
                    "CheckGenesis" => ExtensionKind::Genesis,
                    "CheckMortality" | "CheckEra" => ExtensionKind::Mortality,
                    "CheckNonce" => ExtensionKind::Nonce,
                    "ChargeTransactionPayment" => ExtensionKind::Tip,
                    "ChargeAssetTxPayment" => ExtensionKind::AssetTip,
                    "CheckMetadataHash" => ExtensionKind::MetadataHash,
                    _ if empty => ExtensionKind::Empty,
                    _ => return Err(CollatorError::UnknownExtension(identifier.to_owned())),
                };
                Ok(Extension {
                    identifier: identifier.to_owned(),
                    kind,
                })
            })
            .collect::<Result<_, _>>()?;

        Ok(Self {
            calls: pallet_calls(&parts)?,
            metadata_version,
            transfer_keep_alive: [pallet_index, transfer.index],
            dest,
            value,
            address,
            sr25519_signature_variant,
            extensions,
        })
    }

    /// The indices of call `pallet::call`, if the runtime has it.
    pub fn call_index(&self, pallet: &str, call: &str) -> Option<[u8; 2]> {
        let (_, pallet_index, calls) = self.calls.iter().find(|(name, _, _)| name == pallet)?;
        let (_, call_index) = calls.iter().find(|(name, _)| name == call)?;
        Some([*pallet_index, *call_index])
    }

    /// The call `pallet::call` with its SCALE-encoded arguments `args`.
    pub fn call(&self, pallet: &str, call: &str, args: &[u8]) -> Result<Vec<u8>, CollatorError> {
        let index = self
            .call_index(pallet, call)
            .ok_or_else(|| CollatorError::Metadata(format!("no call `{pallet}::{call}`")))?;
        Ok([&index[..], args].concat())
    }

    /// `Sudo::sudo(call)`.
    pub fn sudo(&self, call: &[u8]) -> Result<Vec<u8>, CollatorError> {
        self.call("Sudo", "sudo", call)
    }

    /// `System::authorize_upgrade(code_hash)` (`authorize_upgrade_without_checks`
    /// unless `check_version`): the first half of frame-system's upgrade
    /// path, for root.
    pub fn authorize_upgrade(
        &self,
        code_hash: &[u8; 32],
        check_version: bool,
    ) -> Result<Vec<u8>, CollatorError> {
        let name = if check_version {
            "authorize_upgrade"
        } else {
            "authorize_upgrade_without_checks"
        };
        self.call("System", name, code_hash)
    }

    /// `System::apply_authorized_upgrade(code)`: the second half, which
    /// anyone may submit (unsigned) once the code is authorized; it hands
    /// the code to the runtime's `OnSetCode` (on a parachain,
    /// parachain-system's upgrade path).
    pub fn apply_authorized_upgrade(&self, code: &[u8]) -> Result<Vec<u8>, CollatorError> {
        self.call("System", "apply_authorized_upgrade", &code.encode())
    }

    /// An unsigned (bare, v4) extrinsic of `call`, SCALE-encoded
    /// (length-prefixed) as in a block body.
    pub fn bare(&self, call: &[u8]) -> Vec<u8> {
        let mut body = vec![EXTRINSIC_VERSION];
        body.extend_from_slice(call);
        let mut extrinsic = Compact(u32::try_from(body.len()).unwrap_or(u32::MAX)).encode();
        extrinsic.extend_from_slice(&body);
        extrinsic
    }

    /// The call `Balances::transfer_keep_alive(dest, value)`.
    pub fn transfer_keep_alive_call(&self, dest: &[u8; 32], value: u128) -> Vec<u8> {
        let mut call = self.transfer_keep_alive.to_vec();
        encode_account(self.dest, dest, &mut call);
        match self.value {
            BalanceFormat::Compact => Compact(value).encode_to(&mut call),
            BalanceFormat::Fixed(width) => call.extend_from_slice(&value.to_le_bytes()[..width]),
        }
        call
    }

    /// A signed (v4) extrinsic of `call` from `signer` with `nonce`, immortal
    /// and without tip, SCALE-encoded (length-prefixed) as in a block body.
    pub fn signed(
        &self,
        call: &[u8],
        signer: &sr25519::Pair,
        nonce: u64,
        chain: &ChainContext,
    ) -> Vec<u8> {
        let mut explicit = Vec::new();
        let mut implicit = Vec::new();
        for extension in &self.extensions {
            match extension.kind {
                ExtensionKind::Empty => {}
                ExtensionKind::SpecVersion => chain.spec_version.encode_to(&mut implicit),
                ExtensionKind::TxVersion => chain.transaction_version.encode_to(&mut implicit),
                ExtensionKind::Genesis => chain.genesis_hash.encode_to(&mut implicit),
                ExtensionKind::Mortality => {
                    explicit.push(0); // Era::Immortal
                    chain.genesis_hash.encode_to(&mut implicit);
                }
                ExtensionKind::Nonce => Compact(nonce).encode_to(&mut explicit),
                ExtensionKind::Tip => Compact(0u128).encode_to(&mut explicit),
                ExtensionKind::AssetTip => {
                    Compact(0u128).encode_to(&mut explicit);
                    explicit.push(0); // no asset: the native one
                }
                ExtensionKind::MetadataHash => {
                    explicit.push(0); // Mode::Disabled
                    implicit.push(0); // None
                }
            }
        }
        let mut payload = call.to_vec();
        payload.extend_from_slice(&explicit);
        payload.extend_from_slice(&implicit);
        let signature = if payload.len() > 256 {
            signer.sign(&sp_io::hashing::blake2_256(&payload))
        } else {
            signer.sign(&payload)
        };

        let mut body = vec![0x80 | EXTRINSIC_VERSION];
        encode_account(self.address, &signer.public().0, &mut body);
        body.push(self.sr25519_signature_variant);
        body.extend_from_slice(&signature.0);
        body.extend_from_slice(&explicit);
        body.extend_from_slice(call);
        let mut extrinsic = Compact(u32::try_from(body.len()).unwrap_or(u32::MAX)).encode();
        extrinsic.extend_from_slice(&body);
        extrinsic
    }
}

fn encode_account(format: AccountFormat, account: &[u8; 32], out: &mut Vec<u8>) {
    if let AccountFormat::MultiAddressId(index) = format {
        out.push(index);
    }
    out.extend_from_slice(account);
}

#[cfg(test)]
mod tests {
    #![allow(dead_code, non_camel_case_types)]

    use std::collections::BTreeMap;

    use frame_metadata::{
        v15::{
            CustomMetadata, ExtrinsicMetadata, OuterEnums, PalletCallMetadata, PalletMetadata,
            RuntimeMetadataV15, SignedExtensionMetadata,
        },
        RuntimeMetadata, RuntimeMetadataPrefixed, META_RESERVED,
    };
    use parity_scale_codec::{Compact, Encode};
    use scale_info::{meta_type, TypeInfo};
    use sp_core::{sr25519, Pair as _, H256};

    use super::{ChainContext, TxFormat};
    use crate::CollatorError;

    #[derive(TypeInfo)]
    enum MultiAddress {
        Id([u8; 32]),
        Index(#[codec(compact)] u32),
    }

    #[derive(TypeInfo)]
    enum MultiSignature {
        Ed25519([u8; 64]),
        Sr25519([u8; 64]),
    }

    #[derive(TypeInfo)]
    enum BalancesCall {
        #[codec(index = 0)]
        transfer_allow_death {
            dest: MultiAddress,
            #[codec(compact)]
            value: u128,
        },
        #[codec(index = 3)]
        transfer_keep_alive {
            dest: MultiAddress,
            #[codec(compact)]
            value: u128,
        },
    }

    #[derive(TypeInfo)]
    struct CheckNonce(#[codec(compact)] u32);
    #[derive(TypeInfo)]
    struct SomethingEmpty;
    #[derive(TypeInfo)]
    struct Mystery(u8);

    /// V15 metadata of a runtime with `Balances` at index 10 and these
    /// extensions (explicit data of `CheckNonce`'s type, `()` implicit).
    fn metadata(extensions: &[(&'static str, bool)]) -> Vec<u8> {
        let signed_extensions = extensions
            .iter()
            .map(|&(identifier, nonce_like)| SignedExtensionMetadata {
                identifier,
                ty: match (identifier, nonce_like) {
                    ("Mystery", _) => meta_type::<Mystery>(),
                    (_, true) => meta_type::<CheckNonce>(),
                    _ => meta_type::<SomethingEmpty>(),
                },
                additional_signed: meta_type::<()>(),
            })
            .collect();
        let v15 = RuntimeMetadataV15::new(
            vec![PalletMetadata {
                name: "Balances",
                storage: None,
                calls: Some(PalletCallMetadata {
                    ty: meta_type::<BalancesCall>(),
                }),
                event: None,
                constants: Vec::new(),
                error: None,
                index: 10,
                docs: Vec::new(),
            }],
            ExtrinsicMetadata {
                version: 4,
                address_ty: meta_type::<MultiAddress>(),
                call_ty: meta_type::<BalancesCall>(),
                signature_ty: meta_type::<MultiSignature>(),
                extra_ty: meta_type::<()>(),
                signed_extensions,
            },
            meta_type::<()>(),
            Vec::new(),
            OuterEnums {
                call_enum_ty: meta_type::<BalancesCall>(),
                event_enum_ty: meta_type::<()>(),
                error_enum_ty: meta_type::<()>(),
            },
            CustomMetadata {
                map: BTreeMap::new(),
            },
        );
        RuntimeMetadataPrefixed(META_RESERVED, RuntimeMetadata::V15(v15)).encode()
    }

    #[test]
    fn reads_the_call_and_extensions_and_signs() {
        let format = TxFormat::from_metadata(&metadata(&[
            ("CheckNonce", true),
            ("SomeNewEmptyExtension", false),
        ]))
        .expect("format");
        assert_eq!(format.transfer_keep_alive, [10, 3]);
        let names: Vec<_> = format
            .extensions
            .iter()
            .map(|e| e.identifier.as_str())
            .collect();
        assert_eq!(names, ["CheckNonce", "SomeNewEmptyExtension"]);

        let dest = [7u8; 32];
        let call = format.transfer_keep_alive_call(&dest, 1_000);
        let mut expected = vec![10, 3, 0];
        expected.extend_from_slice(&dest);
        Compact(1_000u128).encode_to(&mut expected);
        assert_eq!(call, expected);

        let signer = sr25519::Pair::from_seed(&[1; 32]);
        let chain = ChainContext {
            spec_version: 1,
            transaction_version: 1,
            genesis_hash: H256::repeat_byte(9),
        };
        let extrinsic = format.signed(&call, &signer, 5, &chain);
        // Length prefix, version, MultiAddress::Id, MultiSignature::Sr25519.
        let body = &extrinsic[2..];
        assert_eq!(
            Compact(u32::try_from(body.len()).expect("small")).encode(),
            extrinsic[..2]
        );
        assert_eq!(body[0], 0x84);
        assert_eq!(body[1], 0);
        assert_eq!(body[2..34], signer.public().0);
        assert_eq!(body[34], 1);
        let signature = sr25519::Signature::from_raw(body[35..99].try_into().expect("64 octets"));
        // Explicit: the compact nonce; then the call.
        assert_eq!(body[99], 5 << 2);
        assert_eq!(&body[100..], call.as_slice());
        // Signed payload: call, explicit, implicit (none here).
        let mut payload = call.clone();
        payload.push(5 << 2);
        assert!(sr25519::Pair::verify(
            &signature,
            &payload,
            &signer.public()
        ));
    }

    #[test]
    fn an_unknown_extension_with_data_is_an_error() {
        let error = TxFormat::from_metadata(&metadata(&[("CheckNonce", true), ("Mystery", false)]))
            .expect_err("Mystery carries data");
        assert!(matches!(error, CollatorError::UnknownExtension(ref name) if name == "Mystery"));
        assert!(error.to_string().contains("Mystery"));
    }
}
