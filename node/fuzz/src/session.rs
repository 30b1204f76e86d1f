//! The target side of one fuzzing session: the [`Target`] a node implements,
//! and the [`Session`] that turns each request into its reply.

use parajam_primitives::types::{Block, Header, HeaderHash, KeyValue, StateRoot};
use parajam_primitives::ProtocolParameters;

use crate::frame::DEFAULT_MAX_FRAME;
use crate::message::{AncestryItem, Features, Initialize, Message, PeerInfo, FUZZ_VERSION};

/// What a node provides to be fuzzed. Each connection gets a fresh target.
///
/// An `Err` from any method is sent to the fuzzer as an `Error` message and
/// the session goes on; the target must then keep the state it had.
pub trait Target {
    /// Called once per session after the handshake with the features both
    /// peers support. Without [`Features::ANCESTRY`] the ancestry is empty
    /// and the lookup-anchor ancestry check (GP eq. 11.35) must be skipped;
    /// without [`Features::FORK`] no sibling blocks arrive.
    fn negotiated(&mut self, features: Features, fuzzer: &PeerInfo) {
        let _ = (features, fuzzer);
    }

    /// Sets (or resets) the state to exactly `state`, named by `header`'s hash,
    /// with `ancestry` the ancestors of the first block to come; returns the
    /// state's Merkle root.
    fn initialize(
        &mut self,
        header: Header,
        state: Vec<KeyValue>,
        ancestry: Vec<AncestryItem>,
    ) -> Result<StateRoot, String>;

    /// Imports `block`; returns the posterior state root, or why the block is
    /// invalid (the state is then unchanged).
    fn import_block(&mut self, block: Block) -> Result<StateRoot, String>;

    /// The full state after the block with header hash `header_hash` (or
    /// after `Initialize`'s header).
    fn get_state(&mut self, header_hash: &HeaderHash) -> Result<Vec<KeyValue>, String>;
}

/// How a target session or server behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Parameters under which blocks and headers are decoded.
    pub params: ProtocolParameters,
    /// The largest frame accepted; a larger length prefix closes the session.
    pub max_frame: usize,
    /// The peer info sent in the handshake.
    pub info: PeerInfo,
}

impl Config {
    /// parajam's peer info and the default frame limit, under `params`.
    pub fn new(params: ProtocolParameters) -> Self {
        Self {
            params,
            max_frame: DEFAULT_MAX_FRAME,
            info: PeerInfo::parajam(),
        }
    }
}

impl Default for Config {
    /// [`Config::new`] with the `tiny` parameters the fuzzers use.
    fn default() -> Self {
        Self::new(ProtocolParameters::TINY)
    }
}

/// One session of the target: handshake, then request/response.
///
/// Every request gets exactly one reply. Anything that is not a valid
/// request at this point (a frame that does not decode, a message the
/// fuzzer never sends, a request before the handshake) is answered with an
/// `Error` message and changes nothing, so the session can go on.
#[derive(Debug)]
pub struct Session<T> {
    target: T,
    config: Config,
    features: Option<Features>,
}

impl<T: Target> Session<T> {
    /// A session on `target`, waiting for the fuzzer's handshake.
    pub fn new(target: T, config: Config) -> Self {
        Self {
            target,
            config,
            features: None,
        }
    }

    /// The features negotiated in the handshake, once it happened.
    pub fn features(&self) -> Option<Features> {
        self.features
    }

    /// The session's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The target.
    pub fn target(&self) -> &T {
        &self.target
    }

    /// The target, mutably.
    pub fn target_mut(&mut self) -> &mut T {
        &mut self.target
    }

    /// Ends the session, returning the target.
    pub fn into_target(self) -> T {
        self.target
    }

    /// Decodes one frame's body and answers it; a frame that does not decode
    /// is answered with an `Error` naming why.
    pub fn handle_frame(&mut self, frame: &[u8]) -> Message {
        match Message::decode(frame, &self.config.params) {
            Ok(message) => self.handle(message),
            Err(e) => Message::Error(format!("undecodable message: {e}")),
        }
    }

    /// Answers one request.
    pub fn handle(&mut self, message: Message) -> Message {
        let Some(_) = self.features else {
            return match message {
                Message::PeerInfo(fuzzer) => self.handshake(&fuzzer),
                other => Message::Error(format!(
                    "handshake expected, got a {} message",
                    other.kind()
                )),
            };
        };
        match message {
            Message::Initialize(init) => {
                let Initialize {
                    header,
                    state,
                    ancestry,
                } = *init;
                reply_root(self.target.initialize(header, state, ancestry))
            }
            Message::ImportBlock(block) => reply_root(self.target.import_block(*block)),
            Message::GetState(hash) => match self.target.get_state(&hash) {
                Ok(state) => Message::State(state),
                Err(reason) => Message::Error(reason),
            },
            other @ (Message::PeerInfo(_)
            | Message::StateRoot(_)
            | Message::State(_)
            | Message::Error(_)) => Message::Error(format!(
                "unexpected {} message: not a request in this session state",
                other.kind()
            )),
        }
    }

    fn handshake(&mut self, fuzzer: &PeerInfo) -> Message {
        let features = self.config.info.features & fuzzer.features;
        if fuzzer.fuzz_version != FUZZ_VERSION {
            // The fuzzer decides whether to go on; our reply tells it our version.
            tracing::warn!(
                fuzzer_version = fuzzer.fuzz_version,
                ours = FUZZ_VERSION,
                "fuzzer protocol version differs"
            );
        }
        self.features = Some(features);
        self.target.negotiated(features, fuzzer);
        tracing::info!(
            fuzzer = %fuzzer.app_name,
            app_version = %fuzzer.app_version,
            jam_version = %fuzzer.jam_version,
            ?features,
            "fuzzer handshake"
        );
        Message::PeerInfo(self.config.info.clone())
    }
}

fn reply_root(result: Result<StateRoot, String>) -> Message {
    match result {
        Ok(root) => Message::StateRoot(root),
        Err(reason) => Message::Error(reason),
    }
}
