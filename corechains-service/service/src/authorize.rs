//! The CoreChains authorizer's is-authorized (GP 0.7.2 `Ψ_I`): a work
//! package is authorized if its configuration is an encoded [`AuthConfig`]
//! and every work item is for that config's service and within its scope
//! (candidates of its para, or registrations of paras and PVM builds and
//! relay-governance downward messages). The trace is the config.

use parajam_corechains_types::{AuthConfig, AuthScope, WorkItemPayload};
use parity_scale_codec::DecodeAll;

/// Why a package is not authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unauthorized {
    /// The configuration is not an encoded [`AuthConfig`].
    BadConfig,
    /// Item `i` is for another service.
    WrongService(usize),
    /// Item `i`'s payload does not decode.
    BadPayload(usize),
    /// Item `i` is outside the configuration's scope.
    OutOfScope(usize),
}

/// Checks the package whose configuration is `config` and whose items are
/// `(service, payload)`; the trace.
pub fn is_authorized<'a>(
    config: &[u8],
    items: impl IntoIterator<Item = (u32, &'a [u8])>,
) -> Result<AuthConfig, Unauthorized> {
    let config = AuthConfig::decode_all(&mut &config[..]).map_err(|_| Unauthorized::BadConfig)?;
    for (i, (service, mut payload)) in items.into_iter().enumerate() {
        if service != config.service {
            return Err(Unauthorized::WrongService(i));
        }
        let payload =
            WorkItemPayload::decode_all(&mut payload).map_err(|_| Unauthorized::BadPayload(i))?;
        let in_scope = match (config.scope, payload) {
            (AuthScope::Para(para), WorkItemPayload::Candidate(c)) => c.para_id == para,
            (
                AuthScope::Registrar,
                WorkItemPayload::Register(_)
                | WorkItemPayload::RegisterBuild(_)
                | WorkItemPayload::Downward(_)
                | WorkItemPayload::Route(_),
            ) => true,
            _ => false,
        };
        if !in_scope {
            return Err(Unauthorized::OutOfScope(i));
        }
    }
    Ok(config)
}
