//! `parajam run` among peers: the node's JAMNP-S identity and keys, the
//! peers it knows (the spec's bootnodes, the genesis validators'
//! addresses, `--bootnode`), and the wall-clock slot.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use parajam_authoring::keys::ED25519_DERIVATION;
use parajam_authoring::ValidatorSecrets;
use parajam_network::{PeerAddr, PeerId};
use parajam_spec::{Bootnode, ChainSpec};

/// The JAM Common Era, 1200 UTC on January 1, 2025 (GP §4.4), in Unix seconds.
pub const JAM_COMMON_ERA: u64 = 1_735_732_800;

/// JIP-5's Ed25519 secret of `seed`: the node's JAMNP-S key is its
/// validator key `k_e`.
pub fn ed25519_secret(seed: &[u8; 32]) -> [u8; 32] {
    parajam_crypto::blake2b_256_concat(&[ED25519_DERIVATION, seed])
}

/// The JIP-5 dev validator whose Ed25519 key is `peer_id` (an alternative
/// name), among the first `count`.
pub fn dev_validator_of(peer_id: &str, count: u16) -> Option<u32> {
    let id = PeerId::from_alt_name(peer_id)?;
    (0..u32::from(count)).find(|&i| ValidatorSecrets::dev(i).ed25519_public().0 == id.0)
}

/// The secret of a node holding no validator key: made once, kept in
/// `<data>/network/secret_ed25519`.
pub fn node_secret(data: &Path) -> anyhow::Result<[u8; 32]> {
    let dir = data.join("network");
    let path = dir.join("secret_ed25519");
    if let Ok(bytes) = std::fs::read(&path) {
        return bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("{}: not 32 octets", path.display()));
    }
    let mut secret = [0u8; 32];
    let mut random = std::fs::File::open("/dev/urandom").context("/dev/urandom")?;
    std::io::Read::read_exact(&mut random, &mut secret).context("reading /dev/urandom")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(&path, secret).with_context(|| format!("writing {}", path.display()))?;
    Ok(secret)
}

/// The seed, among the files zombienet-sdk writes for its JAM nodes
/// (`<config dir>/<chain>/keys/<node>.seed`: 32 octets, or 64 hex digits),
/// whose JIP-5 Ed25519 key is `peer_id` (an alternative name).
pub fn seed_file_of(config: &Path, peer_id: &str) -> Option<[u8; 32]> {
    let id = PeerId::from_alt_name(peer_id)?;
    let chains = std::fs::read_dir(config).ok()?;
    for chain in chains.flatten() {
        let Ok(files) = std::fs::read_dir(chain.path().join("keys")) else {
            continue;
        };
        for file in files.flatten() {
            let path = file.path();
            if path.extension().is_none_or(|e| e != "seed") {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let seed: Option<[u8; 32]> = match bytes.len() {
                32 => bytes.try_into().ok(),
                _ => hex::decode(
                    String::from_utf8_lossy(&bytes)
                        .trim()
                        .trim_start_matches("0x"),
                )
                .ok()
                .and_then(|b| b.try_into().ok()),
            };
            if let Some(seed) = seed {
                if ValidatorSecrets::from_seed(seed).ed25519_public().0 == id.0 {
                    return Some(seed);
                }
            }
        }
    }
    None
}

/// An address as a socket dials it: IPv4-mapped IPv6 as IPv4.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

/// The validators' addresses in the genesis state's metadata (JAMNP-S:
/// the first 16 octets IPv6, then the port little-endian), the spec's
/// bootnodes, and `--bootnode`s (`<alternative name>@<ip>:<port>`).
pub fn peers(spec: &ChainSpec, bootnodes: &[String]) -> anyhow::Result<Vec<PeerAddr>> {
    let mut out: Vec<PeerAddr> = Vec::new();
    let mut add = |p: PeerAddr| {
        if !out.contains(&p) {
            out.push(p);
        }
    };
    for b in &spec.bootnodes {
        add(PeerAddr {
            id: PeerId(b.ed25519),
            addr: canonical(b.address),
        });
    }
    if let Ok(state) = spec.state() {
        for v in state.active_validators.iter() {
            let m = &v.metadata.0;
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&m[..16]);
            let port = u16::from_le_bytes([m[16], m[17]]);
            let ip = Ipv6Addr::from(ip);
            if port == 0 || ip.is_unspecified() {
                continue;
            }
            add(PeerAddr {
                id: PeerId(v.ed25519.0),
                addr: canonical(SocketAddr::new(IpAddr::V6(ip), port)),
            });
        }
    }
    for text in bootnodes {
        let b = Bootnode::parse(text).map_err(|e| anyhow::anyhow!("--bootnode {text}: {e}"))?;
        add(PeerAddr {
            id: PeerId(b.ed25519),
            addr: canonical(b.address),
        });
    }
    Ok(out)
}

/// Where to listen: `ip` (`--listen-addr`; every IPv4 interface if not
/// given, as zombienet-sdk's nodes expect) on `port`.
pub fn listen(ip: Option<IpAddr>, port: u16) -> SocketAddr {
    SocketAddr::new(ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), port)
}

/// Slots by the wall clock: slot `s` starts `s × period` after the JAM
/// Common Era, so that every node agrees on the slot.
#[derive(Debug, Clone, Copy)]
pub struct SlotClock {
    period_ms: u64,
}

impl SlotClock {
    /// Slots of `period`.
    pub fn new(period: Duration) -> anyhow::Result<Self> {
        let period_ms = u64::try_from(period.as_millis()).unwrap_or(u64::MAX);
        if period_ms == 0 {
            bail!("--slot-duration-ms must be positive");
        }
        Ok(Self { period_ms })
    }

    fn since_era_ms() -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        now.saturating_sub(JAM_COMMON_ERA * 1000)
    }

    /// The slot now.
    pub fn now(self) -> u32 {
        u32::try_from(Self::since_era_ms() / self.period_ms).unwrap_or(u32::MAX)
    }

    /// How long until slot `slot` starts (zero if it has).
    pub fn until(self, slot: u32) -> Duration {
        let start = u64::from(slot) * self.period_ms;
        Duration::from_millis(start.saturating_sub(Self::since_era_ms()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parajam_authoring::trivial_seed;

    #[test]
    fn listen_defaults_to_every_interface_and_takes_an_address() {
        assert_eq!(listen(None, 40000), "0.0.0.0:40000".parse().expect("addr"));
        let loopback = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(listen(loopback, 0), "127.0.0.1:0".parse().expect("addr"));
    }

    #[test]
    fn a_dev_validators_alt_name_finds_it() {
        for i in 0..6 {
            let key = ValidatorSecrets::dev(i).ed25519_public().0;
            assert_eq!(dev_validator_of(&PeerId(key).alt_name(), 6), Some(i));
        }
        assert_eq!(dev_validator_of(&PeerId([9; 32]).alt_name(), 6), None);
        assert_eq!(dev_validator_of("nonsense", 6), None);
    }

    #[test]
    fn zombienets_seed_file_gives_the_key_of_its_peer_id() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let keys = dir.path().join("jam-chain").join("keys");
        std::fs::create_dir_all(&keys).expect("dirs");
        let alice = parajam_crypto::blake2b_256(b"Alice");
        let bob = parajam_crypto::blake2b_256(b"Bob");
        std::fs::write(keys.join("alice.seed"), alice).expect("written");
        std::fs::write(keys.join("bob.seed"), hex::encode(bob)).expect("written");
        let id = |seed: [u8; 32]| PeerId(ValidatorSecrets::from_seed(seed).ed25519_public().0);
        assert_eq!(seed_file_of(dir.path(), &id(alice).alt_name()), Some(alice));
        assert_eq!(seed_file_of(dir.path(), &id(bob).alt_name()), Some(bob));
        assert_eq!(seed_file_of(dir.path(), &PeerId([1; 32]).alt_name()), None);
    }

    #[test]
    fn the_network_key_is_the_validators_ed25519_key() {
        let secret = ed25519_secret(&trivial_seed(3));
        let id = parajam_network::Identity::from_secret(&secret)
            .expect("an identity")
            .id();
        assert_eq!(id.0, ValidatorSecrets::dev(3).ed25519_public().0);
    }
}
