//! The availability specifier `A` (GP 0.7.2 §14.4.1, "Availability
//! Specifier") and the paged proofs `P` (eq. `eq:pagedproofs`): what a
//! guarantor commits to in a report's `WorkPackageSpec`, and the chunks it
//! hands to each validator so that the erasure root can be checked.
//!
//! ```text
//! A(h, b, s) = (h, |b|, u, M(s), |s|)
//!   u  = M_B([x ⌢ y | (x, y) ∈ T[b♣, s♣]])
//!   b♣ = H#(C_⌈|b|/W_E⌉(P_W_E(b)))          one hash per validator
//!   s♣ = M_B#(T C#_W_P(s ⌢ P(s)))           one root per validator
//! ```
//!
//! `C_k` is the erasure code of appendix H ([`parajam_erasure`]): for full
//! parameters 342 data chunks of 1023, for tiny 2 of 6; a segment of `W_G =
//! W_E · W_P` octets is exactly `W_P` pieces.

use jam_codec::Encode;
use parajam_erasure::{ErasureCoder, ErasureError};
use parajam_merkle::binary::{
    constant_depth_root, justification, leaf_page, merkle_trace, well_balanced_root,
    well_balanced_root_from_trace,
};
use parajam_primitives::types::{OpaqueHash, WorkPackageSpec};
use parajam_primitives::{ByteArray, ProtocolParameters};

/// Segments per proof page: `2^6` (eq. `eq:pagedproofs`).
const PAGE_SHIFT: u32 = 6;

/// Why an availability specification cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum AvailabilityError {
    /// The parameters give no valid erasure code.
    #[error("erasure code: {0}")]
    Erasure(#[from] ErasureError),
    /// A segment is not `W_G` octets.
    #[error("segment {index} has {len} octets, not {expected}")]
    SegmentSize {
        /// Its index.
        index: usize,
        /// Its length.
        len: usize,
        /// `W_G`.
        expected: usize,
    },
    /// More than `2^16 - 1` segments or a bundle over `2^32 - 1` octets.
    #[error("too large to specify: {0}")]
    TooLarge(&'static str),
}

/// One validator's share: its chunk of the bundle and its chunk of every
/// segment (exports, then paged proofs), with the path that ties them to the
/// erasure root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// The validator's index, which is the chunk index.
    pub index: usize,
    /// Its chunk of the padded bundle.
    pub bundle_chunk: Vec<u8>,
    /// Its chunk of each segment of `s ⌢ P(s)`.
    pub segment_chunks: Vec<Vec<u8>>,
    /// `T(leaves, index)`: the well-balanced Merkle path of its leaf
    /// `H(bundle chunk) ⌢ M_B(segment chunks)` to the erasure root.
    pub path: Vec<Vec<u8>>,
}

impl Share {
    /// The share's leaf in the erasure-root tree.
    pub fn leaf(&self) -> Vec<u8> {
        leaf(&self.bundle_chunk, &self.segment_chunks)
    }
}

/// The erasure code of `params`: `W_E / 2` data chunks of `V`.
pub fn coder(params: &ProtocolParameters) -> Result<ErasureCoder, AvailabilityError> {
    Ok(ErasureCoder::new(
        params.erasure_piece_size as usize / 2,
        usize::from(params.validators_count),
    )?)
}

/// `P(s)` (eq. `eq:pagedproofs`): for each page of 64 segments, the
/// segment-tree path to the page and the page's leaf hashes, encoded and
/// zero-padded to one segment.
pub fn paged_proofs(params: &ProtocolParameters, segments: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let segment_size = params.segment_size as usize;
    let pages = segments.len().div_ceil(1 << PAGE_SHIFT);
    (0..pages)
        .map(|page| {
            let mut proof = (
                justification(segments, page, PAGE_SHIFT),
                leaf_page(segments, page, PAGE_SHIFT),
            )
                .encode();
            // A page's path is at most 6 and its leaves 64 hashes: 2 KiB
            // of a 4 KiB segment, so the padding never truncates.
            proof.resize(proof.len().max(segment_size), 0);
            proof
        })
        .collect()
}

/// `A(h, b, s)`: the availability specification of the package with hash
/// `package_hash`, audit bundle `bundle` and exported segments `exports`.
pub fn specify(
    params: &ProtocolParameters,
    package_hash: OpaqueHash,
    bundle: &[u8],
    exports: &[Vec<u8>],
) -> Result<WorkPackageSpec, AvailabilityError> {
    let leaves: Vec<Vec<u8>> = shares_unproved(params, bundle, exports)?
        .into_iter()
        .map(|(bundle_chunk, segment_chunks)| leaf(&bundle_chunk, &segment_chunks))
        .collect();
    Ok(WorkPackageSpec {
        hash: package_hash,
        length: u32::try_from(bundle.len()).map_err(|_| AvailabilityError::TooLarge("bundle"))?,
        erasure_root: ByteArray(well_balanced_root(&leaves)),
        exports_root: ByteArray(constant_depth_root(exports)),
        exports_count: u16::try_from(exports.len())
            .map_err(|_| AvailabilityError::TooLarge("exports"))?,
    })
}

/// Every validator's [`Share`] of the bundle and segments.
pub fn shares(
    params: &ProtocolParameters,
    bundle: &[u8],
    exports: &[Vec<u8>],
) -> Result<Vec<Share>, AvailabilityError> {
    let raw = shares_unproved(params, bundle, exports)?;
    let leaves: Vec<Vec<u8>> = raw
        .iter()
        .map(|(bundle_chunk, segment_chunks)| leaf(bundle_chunk, segment_chunks))
        .collect();
    Ok(raw
        .into_iter()
        .enumerate()
        .map(|(index, (bundle_chunk, segment_chunks))| Share {
            index,
            bundle_chunk,
            segment_chunks,
            path: merkle_trace(&leaves, index, parajam_crypto::blake2b_256),
        })
        .collect())
}

/// Checks `share` against `erasure_root`: its leaf and path give the root
/// of the `validators` leaves.
pub fn verify_share(share: &Share, validators: usize, erasure_root: &OpaqueHash) -> bool {
    well_balanced_root_from_trace(
        &share.leaf(),
        share.index,
        validators,
        &share.path,
        parajam_crypto::blake2b_256,
    ) == Some(erasure_root.0)
}

/// A validator's bundle chunk and segment chunks.
type RawShare = (Vec<u8>, Vec<Vec<u8>>);

/// Each validator's share, without its path.
fn shares_unproved(
    params: &ProtocolParameters,
    bundle: &[u8],
    exports: &[Vec<u8>],
) -> Result<Vec<RawShare>, AvailabilityError> {
    let coder = coder(params)?;
    let segment_size = params.segment_size as usize;
    if let Some((index, segment)) = exports
        .iter()
        .enumerate()
        .find(|(_, s)| s.len() != segment_size)
    {
        return Err(AvailabilityError::SegmentSize {
            index,
            len: segment.len(),
            expected: segment_size,
        });
    }
    let mut shares: Vec<RawShare> = coder
        .encode(bundle)?
        .into_iter()
        .map(|chunk| (chunk, Vec::new()))
        .collect();
    let proofs = paged_proofs(params, exports);
    for segment in exports.iter().chain(&proofs) {
        for (share, chunk) in shares.iter_mut().zip(coder.encode(segment)?) {
            share.1.push(chunk);
        }
    }
    Ok(shares)
}

/// `H(b chunk) ⌢ M_B(segment chunks)`: a validator's leaf.
fn leaf(bundle_chunk: &[u8], segment_chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut leaf = parajam_crypto::blake2b_256(bundle_chunk).to_vec();
    leaf.extend_from_slice(&well_balanced_root(segment_chunks));
    leaf
}

#[cfg(test)]
mod tests {
    use super::*;
    use jam_codec::Decode;
    use parajam_merkle::binary::constant_depth_root;

    const TINY: ProtocolParameters = ProtocolParameters::TINY;
    const FULL: ProtocolParameters = ProtocolParameters::FULL;

    fn segments(params: &ProtocolParameters, count: usize) -> Vec<Vec<u8>> {
        (0..count)
            .map(|i| {
                (0..params.segment_size as usize)
                    .map(|j| u8::try_from((i * 31 + j * 7) % 251).expect("below 251"))
                    .collect()
            })
            .collect()
    }

    fn bundle(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| u8::try_from(i % 253).expect("below 253"))
            .collect()
    }

    #[test]
    fn every_share_proves_against_the_erasure_root_and_no_tampered_one_does() {
        for params in [TINY, FULL] {
            let exports = segments(&params, 3);
            let b = bundle(5000);
            let spec = specify(&params, ByteArray([7; 32]), &b, &exports).expect("a spec");
            assert_eq!(spec.length, 5000);
            assert_eq!(spec.exports_count, 3);
            assert_eq!(spec.exports_root.0, constant_depth_root(&exports));
            let validators = usize::from(params.validators_count);
            let shares = shares(&params, &b, &exports).expect("shares");
            assert_eq!(shares.len(), validators);
            for share in shares.iter().step_by(97) {
                assert!(verify_share(share, validators, &spec.erasure_root));
                // 3 exports and 1 proof page.
                assert_eq!(share.segment_chunks.len(), 4);
                let mut bad = share.clone();
                bad.bundle_chunk[0] ^= 1;
                assert!(!verify_share(&bad, validators, &spec.erasure_root));
                let mut bad = share.clone();
                bad.segment_chunks[3][0] ^= 1;
                assert!(!verify_share(&bad, validators, &spec.erasure_root));
                let mut moved = share.clone();
                moved.index = (share.index + 1) % validators;
                assert!(!verify_share(&moved, validators, &spec.erasure_root));
            }
        }
    }

    #[test]
    fn any_third_of_the_shares_rebuilds_the_bundle_and_the_segments() {
        let params = TINY;
        let exports = segments(&params, 2);
        let b = bundle(1234);
        let shares = shares(&params, &b, &exports).expect("shares");
        let coder = coder(&params).expect("a code");
        // The two last (recovery) chunks only.
        let pick = [&shares[4], &shares[5]];
        let chunks: Vec<(usize, &[u8])> = pick
            .iter()
            .map(|s| (s.index, s.bundle_chunk.as_slice()))
            .collect();
        assert_eq!(coder.reconstruct(&chunks, b.len()).expect("rebuilt"), b);
        for (n, segment) in exports.iter().enumerate() {
            let chunks: Vec<(usize, &[u8])> = pick
                .iter()
                .map(|s| (s.index, s.segment_chunks[n].as_slice()))
                .collect();
            let rebuilt = coder
                .reconstruct(&chunks, params.segment_size as usize)
                .expect("rebuilt");
            assert_eq!(&rebuilt, segment);
        }
    }

    #[test]
    fn paged_proofs_hold_each_page_with_its_path_to_the_segment_root() {
        let params = TINY;
        let exports = segments(&params, 70);
        let proofs = paged_proofs(&params, &exports);
        assert_eq!(proofs.len(), 2);
        let root = constant_depth_root(&exports);
        for (page, proof) in proofs.iter().enumerate() {
            assert_eq!(proof.len(), params.segment_size as usize);
            let (path, leaves) =
                <(Vec<[u8; 32]>, Vec<[u8; 32]>)>::decode(&mut &proof[..]).expect("a page");
            // 128 leaves in the padded tree: one level above the pages.
            assert_eq!(path.len(), 1);
            assert_eq!(leaves.len(), if page == 0 { 64 } else { 6 });
            // The page's subtree, padded with zero hashes, under its path.
            let mut level: Vec<[u8; 32]> = leaves.clone();
            level.resize(64, [0; 32]);
            while level.len() > 1 {
                level = level
                    .chunks(2)
                    .map(|pair| {
                        parajam_crypto::blake2b_256(
                            &[b"node" as &[u8], &pair[0], &pair[1]].concat(),
                        )
                    })
                    .collect();
            }
            let (left, right) = if page == 0 {
                (level[0], path[0])
            } else {
                (path[0], level[0])
            };
            assert_eq!(
                parajam_crypto::blake2b_256(&[b"node" as &[u8], &left, &right].concat()),
                root
            );
        }
        assert!(paged_proofs(&params, &[]).is_empty());
    }

    #[test]
    fn an_empty_package_bundle_and_wrong_segments() {
        let spec = specify(&TINY, ByteArray([0; 32]), &[], &[]).expect("a spec");
        assert_eq!(spec.exports_root.0, [0; 32]);
        assert!(matches!(
            specify(&TINY, ByteArray([0; 32]), b"x", &[vec![0; 10]]),
            Err(AvailabilityError::SegmentSize {
                index: 0,
                len: 10,
                ..
            })
        ));
    }
}
