//! The CoreChains authorizer program: `is_authorized` of
//! `parajam-corechains-service`, wired to the GP 0.7.2 host calls through
//! `jam-pvm-common` (its `declare_authorizer!` provides the entry point at
//! program counter 0). An unauthorized package panics, which is how
//! is-authorized says no (GP 0.7.2 `Ψ_I`).

#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;

use jam_pvm_common::is_authorized::work_package;
use jam_types::{AuthTrace, CoreIndex};
use parajam_corechains_service::authorize::is_authorized;
use parity_scale_codec::Encode;

struct CoreChainsAuthorizer;
jam_pvm_common::declare_authorizer!(CoreChainsAuthorizer);

impl jam_pvm_common::Authorizer for CoreChainsAuthorizer {
    fn is_authorized(_core_index: CoreIndex) -> AuthTrace {
        let config = auth_config();
        let package = work_package();
        let items = package
            .items
            .iter()
            .map(|item| (item.service, &item.payload.0[..]));
        match is_authorized(&config, items) {
            Ok(config) => AuthTrace(config.encode()),
            Err(why) => panic!("not authorized: {why:?}"),
        }
    }
}

/// `fetch` with `ω10 = 8`: the package's authorizer configuration `p_f`, as
/// raw octets (GP 0.7.2 B.7). Not `jam-pvm-common`'s `auth_config()`, which
/// decodes a length prefix the paper does not put there.
fn auth_config() -> Vec<u8> {
    const AUTH_CONFIG: u64 = 8;
    // SAFETY: a zero-length fetch writes nothing; the second writes `len`
    // octets into a buffer of that length.
    unsafe {
        let len = jam_pvm_common::imports::fetch(core::ptr::null_mut(), 0, 0, AUTH_CONFIG, 0, 0);
        let Ok(len) = usize::try_from(len) else {
            panic!("no authorizer configuration");
        };
        if len > 1 << 20 {
            panic!("no authorizer configuration");
        }
        let mut config = vec![0u8; len];
        jam_pvm_common::imports::fetch(config.as_mut_ptr(), 0, len as u64, AUTH_CONFIG, 0, 0);
        config
    }
}
