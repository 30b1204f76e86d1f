//! PVM guest programs for tests and benchmarks, built from source by this
//! crate's `build.rs` for the GP 0.7.x instruction set.
//!
//! Each guest is a small `no_std` Rust program in `programs/<name>/`,
//! compiled for polkavm's `riscv64emac` target with `-Z build-std=core` on the
//! stable toolchain and linked by **polkavm-linker 0.30.0** (`JamV1`, the
//! last release emitting the GP 0.7.x instruction set). Every guest enters by
//! its export `main`, which a one-entry dispatch table puts at program
//! counter 0 ([`ENTRY_PC`]); arguments and the result are in the polkavm ABI
//! registers (`a0` = GP `ω7` first), and `main` returns by jumping to the
//! return address, so a caller that sets `ω0` to the halt address
//! `2^32 − 2^16` sees a halt with the result in `ω7`.
//!
//! | guest | argument (`ω7`) | result (`ω7`) |
//! |---|---|---|
//! | [`SIEVE`] | `n` | the number of primes `≤ n` ([`reference::sieve`]) |
//! | [`BLAKE2`] | `rounds` | a Blake2b-256 chain checksum ([`reference::blake2`]) |
//! | [`HOSTCALL`] | none | host call [`HOSTCALL_INDEX`] (`gas`)'s `ω7`, plus one |
//!
//! Each comes in three forms ([`Guest`]): the polkavm blob (`.polkavm`,
//! parsed by `polkavm::ProgramBlob::parse`), the GP `deblob` code blob
//! (GP A.2) and the GP standard program of `Y(p, a)` (GP A.7).
//!
//! # Building
//!
//! `build.rs` needs the `rust-src` component (`rustup component add
//! rust-src`) and the crates of `programs/Cargo.lock` (crates.io or the
//! local registry cache). The guests compile once into
//! `<target dir>/parajam-guests`, shared by every profile; later builds only
//! re-link when `programs/` changes.
//!
//! To add a guest: a crate `programs/<name>` with a binary `<name>` exporting
//! `main` (copy `sieve`), a member line in `programs/Cargo.toml`, its name in
//! `GUESTS` of `build.rs`, and an entry in [`guests`] and [`all`]. After a
//! dependency change run `cargo update --manifest-path
//! testing/guests/programs/Cargo.toml` (the guest build is `--locked`).

/// The program counter of every guest's entry (`main`, via the dispatch table).
pub const ENTRY_PC: u32 = 0;

/// The export every guest enters by.
pub const ENTRY: &str = "main";

/// The largest `n` the sieve accepts; a larger one returns `u64::MAX`.
pub const SIEVE_MAX_N: u64 = 1 << 20;

/// The host call the `hostcall` guest makes: `ecalli 0`, GP 0.7.x `gas`.
pub const HOSTCALL_INDEX: u32 = 0;

/// The import symbol of that host call in the polkavm blob.
pub const HOSTCALL_SYMBOL: &str = "gas";

macro_rules! out_file {
    ($name:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $name))
    };
}

/// `sieve(n)`: the number of primes `≤ n` (polkavm blob).
pub const SIEVE: &[u8] = out_file!("sieve.polkavm");
/// `blake2(rounds)`: a Blake2b-256 chain checksum (polkavm blob).
pub const BLAKE2: &[u8] = out_file!("blake2.polkavm");
/// `hostcall()`: host call 0's result plus one (polkavm blob).
pub const HOSTCALL: &[u8] = out_file!("hostcall.polkavm");

/// One guest program in its three encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guest {
    /// `sieve`, `blake2` or `hostcall`.
    pub name: &'static str,
    /// What `main` computes.
    pub description: &'static str,
    /// The polkavm program blob (`PVM\0` magic, JamV1 instruction set),
    /// with the imports and exports by name.
    pub polkavm: &'static [u8],
    /// The GP code blob `E(|j|) ⌢ E1(z) ⌢ E(|c|) ⌢ Ez(j) ⌢ c ⌢ k` that
    /// `deblob` (GP A.2) reads: the polkavm blob's code and jump table.
    pub code: &'static [u8],
    /// The GP standard program `p` of `Y(p, a)` (GP A.7): `E3(|o|) ⌢ E3(|w|)
    /// ⌢ E2(z) ⌢ E3(s) ⌢ o ⌢ w ⌢ E4(|c|) ⌢ c`, with `c` = [`Guest::code`].
    pub program: &'static [u8],
}

impl Guest {
    /// Blake2b-256 of the standard program [`Guest::program`].
    pub fn code_hash(&self) -> [u8; 32] {
        use blake2::digest::consts::U32;
        use blake2::{Blake2b, Digest};
        Blake2b::<U32>::digest(self.program).into()
    }
}

static GUESTS: [Guest; 3] = [
    Guest {
        name: "sieve",
        description: "main(n): the number of primes <= n (sieve of Eratosthenes, n <= 2^20)",
        polkavm: SIEVE,
        code: out_file!("sieve.code"),
        program: out_file!("sieve.program"),
    },
    Guest {
        name: "blake2",
        description: "main(rounds): Blake2b-256 of a 1 KiB buffer, fed back `rounds` times",
        polkavm: BLAKE2,
        code: out_file!("blake2.code"),
        program: out_file!("blake2.program"),
    },
    Guest {
        name: "hostcall",
        description: "main(): host call 0 (gas) returns in a0/ω7, plus one",
        polkavm: HOSTCALL,
        code: out_file!("hostcall.code"),
        program: out_file!("hostcall.program"),
    },
];

static ALL: [(&str, &[u8]); 3] = [("sieve", SIEVE), ("blake2", BLAKE2), ("hostcall", HOSTCALL)];

/// Every guest as `(name, polkavm blob)`.
pub fn all() -> &'static [(&'static str, &'static [u8])] {
    &ALL
}

/// Every guest with all its encodings.
pub fn guests() -> &'static [Guest] {
    &GUESTS
}

/// The guest called `name`.
pub fn guest(name: &str) -> Option<&'static Guest> {
    GUESTS.iter().find(|guest| guest.name == name)
}

/// What each guest's `main` returns, computed on the host.
pub mod reference {
    use blake2::digest::consts::U32;
    use blake2::{Blake2b, Digest};

    /// The number of primes `≤ n`; `u64::MAX` above [`SIEVE_MAX_N`](crate::SIEVE_MAX_N).
    pub fn sieve(n: u64) -> u64 {
        if n > crate::SIEVE_MAX_N {
            return u64::MAX;
        }
        let n = usize::try_from(n).expect("n <= 2^20");
        let mut composite = vec![false; n + 1];
        let mut count = 0;
        for i in 2..=n {
            if !composite[i] {
                count += 1;
                for j in (i * i..=n).step_by(i) {
                    composite[j] = true;
                }
            }
        }
        count
    }

    /// The `blake2` guest's checksum: a 1 KiB buffer `buf[i] = i mod 256`
    /// is hashed `rounds` times with Blake2b-256, round `r` writing its digest
    /// over `buf[32 r mod 1024 ..][..32]`; the result is the first eight
    /// octets of the last digest, little-endian (0 for no rounds).
    pub fn blake2(rounds: u64) -> u64 {
        let mut buffer: Vec<u8> = (0..1024_u32).map(|i| i.to_le_bytes()[0]).collect();
        let mut digest = [0_u8; 32];
        let mut offset = 0;
        for _ in 0..rounds {
            digest = Blake2b::<U32>::digest(&buffer).into();
            buffer[offset..offset + 32].copy_from_slice(&digest);
            offset = (offset + 32) % buffer.len();
        }
        let mut first = [0_u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }

    /// The `hostcall` guest's result when host call 0 leaves `host_result` in `ω7`.
    pub fn hostcall(host_result: u64) -> u64 {
        host_result.wrapping_add(1)
    }
}
