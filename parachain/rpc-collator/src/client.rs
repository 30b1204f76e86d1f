//! [`NodeClient`]: the JSON-RPC calls a collator makes to a parajam node
//! (JIP-2 and the node's `parajam_*` methods), blocking, each bounded by
//! the client's request timeout.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jsonrpsee::core::client::{ClientT, Error as ClientError};
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee_ws_client::{WsClient, WsClientBuilder};
use parajam_primitives::types::Statistics;
use parajam_primitives::ProtocolParameters;
use parajam_rpc::{BlockDescriptor, Parameters, ParametersV1};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::CollateError;

/// The largest request or response the client sends or takes (a PVF
/// artifact of several MiB in `submitPreimage`, Base64-encoded).
const MAX_MESSAGE: u32 = 64 * 1024 * 1024;

/// A para's head at a block (`parajam_paraHead`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParaHead {
    /// The block it was read at.
    pub block: BlockDescriptor,
    /// The head.
    pub head: Vec<u8>,
}

/// The emulated relay-chain state the CoreChains service shows a para
/// (`parajam_relayState`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayStateAnswer {
    /// The block (and slot: the relay parent number) it was read at.
    pub block: BlockDescriptor,
    /// Its trie root (the relay parent's storage root).
    pub root: [u8; 32],
    /// Its key/value pairs, as a collator proves them.
    pub entries: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A blocking JSON-RPC client of one parajam node over WebSocket.
#[derive(Debug)]
pub struct NodeClient {
    runtime: tokio::runtime::Runtime,
    client: WsClient,
    url: String,
    timeout: Duration,
}

fn transport(method: &str, e: &ClientError, timeout: Duration) -> CollateError {
    match e {
        ClientError::Call(object) => CollateError::Refused {
            method: method.to_owned(),
            code: object.code(),
            message: object.message().to_owned(),
        },
        ClientError::RequestTimeout => CollateError::Timeout {
            what: format!("an answer to `{method}`"),
            after: timeout,
        },
        other => CollateError::Transport {
            method: method.to_owned(),
            reason: other.to_string(),
        },
    }
}

fn bad(method: &str, reason: impl std::fmt::Display) -> CollateError {
    CollateError::BadAnswer {
        method: method.to_owned(),
        reason: reason.to_string(),
    }
}

/// Padded Base64 (JIP-2's `Blob`).
pub(crate) fn b64(octets: &[u8]) -> Value {
    Value::String(STANDARD.encode(octets))
}

fn unb64(method: &str, value: &Value) -> Result<Vec<u8>, CollateError> {
    let text = value
        .as_str()
        .ok_or_else(|| bad(method, format!("{value} is not a Base64 string")))?;
    STANDARD
        .decode(text)
        .map_err(|e| bad(method, format!("not Base64: {e}")))
}

fn hash32(method: &str, value: &Value) -> Result<[u8; 32], CollateError> {
    let octets = unb64(method, value)?;
    let len = octets.len();
    octets
        .try_into()
        .map_err(|_| bad(method, format!("a hash of {len} octets")))
}

fn descriptor(method: &str, value: &Value) -> Result<BlockDescriptor, CollateError> {
    let header_hash = hash32(method, &value["header_hash"])?;
    let slot = value["slot"]
        .as_u64()
        .and_then(|s| u32::try_from(s).ok())
        .ok_or_else(|| bad(method, format!("no slot in {value}")))?;
    Ok(BlockDescriptor {
        header_hash: parajam_rpc::Hash(header_hash),
        slot,
    })
}

impl NodeClient {
    /// Connects to `url` (`ws://host:port`); every call then waits at most
    /// `timeout` for its answer.
    pub fn connect(url: &str, timeout: Duration) -> Result<Self, CollateError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CollateError::Connect {
                url: url.to_owned(),
                reason: format!("no async runtime: {e}"),
            })?;
        let built = runtime.block_on(async {
            tokio::time::timeout(
                timeout,
                WsClientBuilder::default()
                    .request_timeout(timeout)
                    .connection_timeout(timeout)
                    .max_request_size(MAX_MESSAGE)
                    .max_response_size(MAX_MESSAGE)
                    .build(url),
            )
            .await
        });
        let client = match built {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => {
                return Err(CollateError::Connect {
                    url: url.to_owned(),
                    reason: e.to_string(),
                })
            }
            Err(_) => {
                return Err(CollateError::Timeout {
                    what: format!("a connection to {url}"),
                    after: timeout,
                })
            }
        };
        Ok(Self {
            runtime,
            client,
            url: url.to_owned(),
            timeout,
        })
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `method` with positional `params`, its JSON result.
    pub fn call_raw(&self, method: &str, params: Vec<Value>) -> Result<Value, CollateError> {
        self.call(method, params)
    }

    fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Vec<Value>,
    ) -> Result<T, CollateError> {
        let mut array = ArrayParams::new();
        for p in params {
            array
                .insert(p)
                .map_err(|e| bad(method, format!("a parameter: {e}")))?;
        }
        self.runtime
            .block_on(self.client.request::<T, _>(method, array))
            .map_err(|e| transport(method, &e, self.timeout))
    }

    /// `parameters`, as one of the parameter sets this collator knows
    /// ([`ProtocolParameters::ALL`]).
    pub fn parameters(&self) -> Result<ProtocolParameters, CollateError> {
        let Parameters::V1(answer): Parameters = self.call("parameters", vec![])?;
        ProtocolParameters::ALL
            .into_iter()
            .find(|p| ParametersV1::from(p) == answer)
            .ok_or_else(|| {
                bad(
                    "parameters",
                    format!(
                        "none of the parameter sets parajam knows ({} validators, {} cores)",
                        answer.val_count, answer.core_count
                    ),
                )
            })
    }

    /// `bestBlock`.
    pub fn best_block(&self) -> Result<BlockDescriptor, CollateError> {
        let value: Value = self.call("bestBlock", vec![])?;
        descriptor("bestBlock", &value)
    }

    /// `stateRoot` of `block`.
    pub fn state_root(&self, block: &BlockDescriptor) -> Result<[u8; 32], CollateError> {
        let value: Value = self.call("stateRoot", vec![b64(&block.header_hash.0)])?;
        hash32("stateRoot", &value)
    }

    /// `beefyRoot` of `block`.
    pub fn beefy_root(&self, block: &BlockDescriptor) -> Result<[u8; 32], CollateError> {
        let value: Value = self.call("beefyRoot", vec![b64(&block.header_hash.0)])?;
        hash32("beefyRoot", &value)
    }

    /// `statistics` (`π`) in `block`'s posterior state.
    pub fn statistics(
        &self,
        block: &BlockDescriptor,
        params: &ProtocolParameters,
    ) -> Result<Statistics, CollateError> {
        let value: Value = self.call("statistics", vec![b64(&block.header_hash.0)])?;
        let octets = unb64("statistics", &value)?;
        parajam_primitives::decode(&octets, params).map_err(|e| bad("statistics", e))
    }

    /// `serviceValue`: `key` of `service`'s storage at `block`.
    pub fn service_value(
        &self,
        block: &BlockDescriptor,
        service: u32,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, CollateError> {
        let value: Value = self.call(
            "serviceValue",
            vec![b64(&block.header_hash.0), service.into(), b64(key)],
        )?;
        if value.is_null() {
            return Ok(None);
        }
        unb64("serviceValue", &value).map(Some)
    }

    /// `serviceRequest`: the slots of `service`'s request for `(hash, len)`
    /// at `block`, `None` if neither requested nor provided.
    pub fn service_request(
        &self,
        block: &BlockDescriptor,
        service: u32,
        hash: &[u8; 32],
        len: u32,
    ) -> Result<Option<Vec<u32>>, CollateError> {
        let value: Value = self.call(
            "serviceRequest",
            vec![
                b64(&block.header_hash.0),
                service.into(),
                b64(hash),
                len.into(),
            ],
        )?;
        if value.is_null() {
            return Ok(None);
        }
        serde_json::from_value(value)
            .map(Some)
            .map_err(|e| bad("serviceRequest", e))
    }

    /// `parajam_paraHead`: `para`'s head at the best block, `None` if it is
    /// not registered.
    pub fn para_head(&self, para: u32) -> Result<Option<ParaHead>, CollateError> {
        const METHOD: &str = "parajam_paraHead";
        let value: Value = self.call(METHOD, vec![para.into()])?;
        if value.is_null() {
            return Ok(None);
        }
        Ok(Some(ParaHead {
            block: descriptor(METHOD, &value)?,
            head: unb64(METHOD, &value["head"])?,
        }))
    }

    /// `parajam_relayState`: the emulated relay state of `para` at the best
    /// block, `None` if it is not registered.
    pub fn relay_state(&self, para: u32) -> Result<Option<RelayStateAnswer>, CollateError> {
        const METHOD: &str = "parajam_relayState";
        let value: Value = self.call(METHOD, vec![para.into()])?;
        if value.is_null() {
            return Ok(None);
        }
        let entries = value["entries"]
            .as_array()
            .ok_or_else(|| bad(METHOD, "no `entries` array"))?
            .iter()
            .map(|pair| match pair.as_array().map(Vec::as_slice) {
                Some([k, v]) => Ok((unb64(METHOD, k)?, unb64(METHOD, v)?)),
                _ => Err(bad(METHOD, format!("{pair} is not a [key, value] pair"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(RelayStateAnswer {
            block: descriptor(METHOD, &value)?,
            root: hash32(METHOD, &value["root"])?,
            entries,
        }))
    }

    /// `submitWorkPackage` of the encoded `package` with `extrinsics` for
    /// `core`: `Ok` once the node's guarantor made its report.
    pub fn submit_work_package(
        &self,
        core: u16,
        package: &[u8],
        extrinsics: &[Vec<u8>],
    ) -> Result<(), CollateError> {
        let extrinsics: Vec<Value> = extrinsics.iter().map(|x| b64(x)).collect();
        let _: Value = self.call(
            "submitWorkPackage",
            vec![core.into(), b64(package), Value::Array(extrinsics)],
        )?;
        Ok(())
    }

    /// `submitPreimage` of `blob` for `requester`.
    pub fn submit_preimage(&self, requester: u32, blob: &[u8]) -> Result<(), CollateError> {
        let _: Value = self.call("submitPreimage", vec![requester.into(), b64(blob)])?;
        Ok(())
    }

    /// Polls `bestBlock` (every `poll`) until its slot is past `slot`, for
    /// at most `wait`.
    pub fn wait_past(
        &self,
        slot: u32,
        poll: Duration,
        wait: Duration,
    ) -> Result<BlockDescriptor, CollateError> {
        let deadline = std::time::Instant::now() + wait;
        loop {
            let best = self.best_block()?;
            if best.slot > slot {
                return Ok(best);
            }
            if std::time::Instant::now() >= deadline {
                return Err(CollateError::Timeout {
                    what: format!("a best block after slot {slot}"),
                    after: wait,
                });
            }
            std::thread::sleep(poll);
        }
    }
}
