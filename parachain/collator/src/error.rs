//! The collator's errors.

/// Why the collator could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum CollatorError {
    /// The runtime code is neither wasm nor zstd-compressed wasm within the
    /// bomb limit.
    #[error("runtime code: {0}")]
    Code(String),
    /// A runtime-API call failed (trapped, panicked or is not exported).
    #[error("runtime call `{method}` failed: {reason}")]
    RuntimeCall {
        /// The runtime-API function, e.g. `Core_initialize_block`.
        method: String,
        /// What the executor said.
        reason: String,
    },
    /// The result of a runtime-API call did not decode.
    #[error("decoding the result of `{method}`: {source}")]
    Decode {
        /// The runtime-API function.
        method: String,
        /// The codec error.
        #[source]
        source: parity_scale_codec::Error,
    },
    /// The runtime has no genesis preset of this name.
    #[error("the runtime has no genesis preset `{name}`")]
    UnknownPreset {
        /// The preset asked for.
        name: String,
    },
    /// The genesis config JSON (the runtime's default or a preset's patch)
    /// is not a JSON object.
    #[error("genesis config JSON: {0}")]
    GenesisJson(String),
    /// `GenesisBuilder_build_state` refused the genesis config.
    #[error("GenesisBuilder_build_state: {0}")]
    BuildState(String),
    /// The state backend failed (a trie node missing, a proof that could
    /// not be made).
    #[error("state: {0}")]
    State(String),
    /// The runtime metadata lacks something the collator needs, or is of a
    /// version it does not read.
    #[error("metadata: {0}")]
    Metadata(String),
    /// The runtime asks for a transaction extension the collator does not
    /// know how to fill in.
    #[error("unknown transaction extension `{0}` (its explicit or implicit data is not empty)")]
    UnknownExtension(String),
    /// The runtime has no aura authorities.
    #[error("the runtime has no aura authorities")]
    NoAuthorities,
    /// The aura authority of the slot is none of the collator's keys.
    #[error("the aura authority of slot {slot} is 0x{authority}, none of the collator's keys")]
    NotAnAuthority {
        /// The para's aura slot.
        slot: u64,
        /// The authority's sr25519 public key (hex).
        authority: String,
    },
    /// A secret URI (such as `//Alice`) did not give a key.
    #[error("key `{0}`: not a valid secret URI")]
    Key(String),
    /// No timestamp was given and the relay-chain state has no
    /// `CURRENT_SLOT` entry to derive it from.
    #[error("the relay-chain state has no (valid) CURRENT_SLOT entry and no timestamp was given")]
    NoRelaySlot,
    /// An inherent extrinsic was not applied.
    #[error("inherent extrinsic {index} not applied: 0x{outcome}")]
    InherentFailed {
        /// Its position in the block.
        index: usize,
        /// The encoded `ApplyExtrinsicResult` (hex).
        outcome: String,
    },
    /// A given extrinsic is not valid in this block (the runtime returned a
    /// `TransactionValidityError`).
    #[error("extrinsic {index} of the request is invalid: 0x{outcome}")]
    ExtrinsicInvalid {
        /// Its position among the extrinsics of the request.
        index: usize,
        /// The encoded `ApplyExtrinsicResult` (hex).
        outcome: String,
    },
    /// The block's post-state root is not the one in its header.
    #[error("state root mismatch: header says 0x{header}, the changes give 0x{computed}")]
    StateRootMismatch {
        /// The root in the finalized header (hex).
        header: String,
        /// The root of the parent state with the block's changes (hex).
        computed: String,
    },
}

impl CollatorError {
    pub(crate) fn decode(method: &str, source: parity_scale_codec::Error) -> Self {
        Self::Decode {
            method: method.to_owned(),
            source,
        }
    }
}
