//! The ring-proof SRS the node carries is the one the conformance vectors
//! are made with, so the node needs no vectors to verify ring proofs.

#[test]
fn the_embedded_srs_is_the_vectors_srs() {
    let dir = parajam_conformance::locate_vectors().expect("the conformance vectors");
    let path = dir.join("stf/safrole/zcash-srs-2-11-uncompressed.bin");
    let vectors = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(vectors.len(), parajam_bandersnatch::ZCASH_SRS.len());
    assert!(vectors == parajam_bandersnatch::ZCASH_SRS);
}
