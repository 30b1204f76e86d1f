//! `ext_misc_runtime_version`: the SCALE-encoded `RuntimeVersion` embedded
//! in a runtime's wasm code, read as the relay chain's PVF executor reads
//! it (its `ReadRuntimeVersion`: `RuntimeBlob::uncompress_if_needed`, then
//! `sc_executor::read_embedded_version`, then `RuntimeVersion::encode`):
//!
//! 1. The blob's kind by its first octets (`sp-maybe-compressed-blob`):
//!    `\0asm` (wasm), `PVM\0` (PolkaVM), or an 8-octet zstd prefix (legacy,
//!    wasm code or PolkaVM code); anything else has no version. A prefixed
//!    blob is zstd-decompressed (every frame, skippable frames skipped,
//!    checksums checked) up to 50 MiB (the bomb limit; more has no version).
//! 2. A PolkaVM blob has no custom sections: no version (the executor
//!    refuses it, or finds no section). So for a PVF artifact or a PVM
//!    program here: `None`, as on the relay chain.
//! 3. The wasm module's sections are walked (magic, version 1, each
//!    section's id and length, known sections in order, custom section
//!    names UTF-8); the first custom section named `runtime_version`
//!    holds the version, the first named `runtime_apis` (if any) the API
//!    list as 12-octet `(id, version LE)` records, whose `Core` version
//!    tells which fields the version section has (`decode_with_version_hint`:
//!    `transaction_version` from `Core` 3, `system_version` from 4).
//! 4. The answer is the full `RuntimeVersion` re-encoded: names, the three
//!    `u32`s, the API list (from `runtime_apis` when present), then
//!    `transaction_version` (1 when absent) and `system_version` (0 when
//!    absent).
//!
//! Where this differs: `RuntimeBlob::new` parses the whole module with
//! parity-wasm, so a module whose section *bodies* are malformed (an
//! unknown instruction, say) has no version there and may have one here.
//! Both agree on every module a compiler emits.

use alloc::vec::Vec;

use parity_scale_codec::{Decode, Encode, Input};

/// `sp-maybe-compressed-blob`'s zstd prefixes: legacy, PoV, wasm code, PVM code.
const ZSTD_PREFIX: [u8; 7] = [82, 188, 83, 118, 70, 219, 142];
/// The last prefix octet of a legacy, wasm-code and PVM-code blob.
const CODE_KINDS: [u8; 3] = [5, 7, 8];
/// `CODE_BLOB_BOMB_LIMIT`.
pub const BOMB_LIMIT: usize = 50 << 20;
/// libzstd's default largest window (`ZSTD_WINDOWLOG_LIMIT_DEFAULT` 27).
const MAX_WINDOW: u64 = 1 << 27;
/// `blake2_64("Core")`, the `Core` runtime API's id.
const CORE_API: [u8; 8] = [0xdf, 0x6a, 0xcb, 0x68, 0x99, 0x07, 0x60, 0x9b];

/// The encoded `RuntimeVersion` of `code`, if it has one.
pub fn runtime_version(code: &[u8]) -> Option<Vec<u8>> {
    let wasm = uncompress(code)?;
    let (version, apis) = sections(&wasm)?;
    encode_version(version?, apis)
}

/// Step 1: the code, decompressed if prefixed; `None` if it is no code blob.
fn uncompress(code: &[u8]) -> Option<alloc::borrow::Cow<'_, [u8]>> {
    if code.starts_with(b"\0asm") || code.starts_with(b"PVM\0") {
        return Some(code.into());
    }
    let kind = code.get(7)?;
    if !code.starts_with(&ZSTD_PREFIX) || !CODE_KINDS.contains(kind) {
        return None;
    }
    Some(zstd(&code[8..])?.into())
}

/// Every zstd frame of `data`, decompressed; `None` on any error or past
/// the bomb limit.
fn zstd(mut data: &[u8]) -> Option<Vec<u8>> {
    use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
    use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};

    let mut out = Vec::new();
    let mut decoder = FrameDecoder::new();
    decoder.set_max_window_size(MAX_WINDOW);
    while !data.is_empty() {
        match decoder.reset(&mut data) {
            Ok(()) => {}
            Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                length,
                ..
            })) => {
                data = data.get(usize::try_from(length).ok()?..)?;
                continue;
            }
            Err(_) => return None,
        }
        loop {
            let done = decoder
                .decode_blocks(&mut data, BlockDecodingStrategy::UptoBytes(1 << 20))
                .ok()?;
            // `collect` has nothing (`None`) while the output is within the
            // window, which it keeps until the frame ends.
            if let Some(chunk) = decoder.collect() {
                if out.len() + chunk.len() > BOMB_LIMIT {
                    return None;
                }
                out.extend_from_slice(&chunk);
            }
            if done {
                break;
            }
        }
        // A frame's checksum is optional (libzstd writes none by default).
        if let Some(expected) = decoder.get_checksum_from_data() {
            if decoder.get_calculated_checksum() != Some(expected) {
                return None;
            }
        }
    }
    Some(out)
}

/// The `runtime_version` and `runtime_apis` custom sections' contents.
type Sections<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// Step 3: the contents of the first `runtime_version` and `runtime_apis`
/// custom sections; `None` if the module does not parse as parity-wasm
/// frames it: magic and version 1, sections up to the end, known sections
/// once each in their order (the data count, 12, before the code, 10),
/// custom section names UTF-8, as many code bodies as functions.
fn sections(wasm: &[u8]) -> Option<Sections<'_>> {
    let mut rest = wasm.strip_prefix(b"\0asm")?;
    rest = rest.strip_prefix(&[1, 0, 0, 0])?;
    let (mut version, mut apis) = (None, None);
    let (mut functions, mut bodies) = (0, 0);
    let mut last_order = 0u8;
    while let Some((&id, after)) = rest.split_first() {
        let (len, after) = leb_u32(after)?;
        let len = usize::try_from(len).ok()?;
        if after.len() < len {
            return None;
        }
        let (body, after) = after.split_at(len);
        rest = after;
        if id == 0 {
            let (name_len, contents) = leb_u32(body)?;
            let name_len = usize::try_from(name_len).ok()?;
            if contents.len() < name_len {
                return None;
            }
            let (name, contents) = contents.split_at(name_len);
            match core::str::from_utf8(name).ok()? {
                "runtime_version" if version.is_none() => version = Some(contents),
                "runtime_apis" if apis.is_none() => apis = Some(contents),
                _ => {}
            }
            continue;
        }
        let order = match id {
            1..=9 => id,
            12 => 10,
            10 => 11,
            11 => 12,
            _ => return None,
        };
        if order <= last_order {
            return None;
        }
        last_order = order;
        match id {
            3 => functions = leb_u32(body)?.0,
            10 => bodies = leb_u32(body)?.0,
            _ => {}
        }
    }
    (functions == bodies).then_some((version, apis))
}

/// An unsigned LEB128 `u32` (at most 5 octets) and what follows it.
fn leb_u32(data: &[u8]) -> Option<(u32, &[u8])> {
    let mut value = 0u32;
    for (i, &b) in data.iter().enumerate().take(5) {
        let bits = u32::from(b & 0x7f);
        if i == 4 && bits > 0x0f {
            return None;
        }
        value |= bits << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, &data[i + 1..]));
        }
    }
    None
}

/// Step 4: `decode_with_version_hint`, the APIs replaced, re-encoded.
fn encode_version(mut section: &[u8], apis_section: Option<&[u8]>) -> Option<Vec<u8>> {
    let apis: Option<Vec<([u8; 8], u32)>> = match apis_section {
        None => None,
        Some(data) => {
            if data.len() % 12 != 0 {
                return None;
            }
            Some(
                data.chunks_exact(12)
                    .map(|c| {
                        let mut id = [0; 8];
                        id.copy_from_slice(&c[..8]);
                        (id, u32::from_le_bytes([c[8], c[9], c[10], c[11]]))
                    })
                    .collect(),
            )
        }
    };
    let input = &mut section;
    let spec_name = alloc::string::String::decode(input).ok()?;
    let impl_name = alloc::string::String::decode(input).ok()?;
    let authoring_version = u32::decode(input).ok()?;
    let spec_version = u32::decode(input).ok()?;
    let impl_version = u32::decode(input).ok()?;
    let section_apis = Vec::<([u8; 8], u32)>::decode(input).ok()?;
    let core = |list: &[([u8; 8], u32)]| list.iter().find(|(id, _)| *id == CORE_API).map(|a| a.1);
    let core_version = apis
        .as_deref()
        .and_then(core)
        .or_else(|| core(&section_apis));
    let transaction_version = if core_version.is_some_and(|v| v >= 3) {
        u32::decode(input).ok()?
    } else {
        1
    };
    let system_version = if core_version.is_some_and(|v| v >= 4) {
        input.read_byte().ok()?
    } else {
        0
    };
    let apis = apis.unwrap_or(section_apis);
    let mut out = Vec::new();
    spec_name.encode_to(&mut out);
    impl_name.encode_to(&mut out);
    authoring_version.encode_to(&mut out);
    spec_version.encode_to(&mut out);
    impl_version.encode_to(&mut out);
    apis.encode_to(&mut out);
    transaction_version.encode_to(&mut out);
    system_version.encode_to(&mut out);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// A custom section `name` with `contents`.
    fn custom(name: &str, contents: &[u8]) -> Vec<u8> {
        let mut body = vec![u8::try_from(name.len()).expect("test value")];
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(contents);
        let mut section = vec![0, u8::try_from(body.len()).expect("short test section")];
        section.extend_from_slice(&body);
        section
    }

    /// The fields of a `RuntimeVersion` up to its API list (empty, as the
    /// `runtime_version` section has it).
    fn fields(spec: &str) -> Vec<u8> {
        let mut out = Vec::new();
        spec.encode_to(&mut out);
        "parajam-node".encode_to(&mut out);
        1u32.encode_to(&mut out);
        1_000u32.encode_to(&mut out);
        3u32.encode_to(&mut out);
        Vec::<([u8; 8], u32)>::new().encode_to(&mut out);
        out
    }

    fn module(sections: &[Vec<u8>]) -> Vec<u8> {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        for s in sections {
            wasm.extend_from_slice(s);
        }
        wasm
    }

    #[test]
    fn embedded_versions_are_read_and_re_encoded() {
        let other_api = [1, 2, 3, 4, 5, 6, 7, 8];
        let mut apis = CORE_API.to_vec();
        apis.extend_from_slice(&5u32.to_le_bytes());
        apis.extend_from_slice(&other_api);
        apis.extend_from_slice(&2u32.to_le_bytes());
        let mut version = fields("penpal");
        version.extend_from_slice(&7u32.to_le_bytes()); // transaction_version
        version.push(1); // system_version
        let wasm = module(&[
            custom("producers", b"x"),
            custom("runtime_version", &version),
            custom("runtime_apis", &apis),
            custom("runtime_version", b"ignored: only the first counts"),
        ]);
        let mut want = fields("penpal");
        want.truncate(want.len() - 1);
        vec![(CORE_API, 5u32), (other_api, 2)].encode_to(&mut want);
        want.extend_from_slice(&7u32.to_le_bytes());
        want.push(1);
        assert_eq!(runtime_version(&wasm), Some(want.clone()));

        // Zstd-compressed behind the legacy and the wasm-code prefixes.
        let compressed = ruzstd::encoding::compress_to_vec(
            &wasm[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        for kind in [5, 7, 8] {
            let mut blob = ZSTD_PREFIX.to_vec();
            blob.push(kind);
            blob.extend_from_slice(&compressed);
            assert_eq!(runtime_version(&blob), Some(want.clone()), "kind {kind}");
        }
        let mut pov = ZSTD_PREFIX.to_vec();
        pov.push(6);
        pov.extend_from_slice(&compressed);
        assert_eq!(runtime_version(&pov), None, "a PoV is no code");
        let mut corrupt = ZSTD_PREFIX.to_vec();
        corrupt.push(5);
        corrupt.extend_from_slice(&compressed[..compressed.len() - 3]);
        assert_eq!(runtime_version(&corrupt), None, "truncated");
    }

    /// A custom section `name` of `len` octets (a LEB128 length).
    fn big_custom(name: &str, len: usize) -> Vec<u8> {
        let mut body = vec![u8::try_from(name.len()).expect("test value")];
        body.extend_from_slice(name.as_bytes());
        // Compressible, but not trivially: a counter's octets.
        body.extend((0..len).map(|i| u8::try_from((i / 7) % 251).expect("below 251")));
        let mut section = vec![0];
        let mut n = body.len();
        loop {
            let byte = u8::try_from(n & 0x7f).expect("seven bits");
            n >>= 7;
            if n == 0 {
                section.push(byte);
                break;
            }
            section.push(byte | 0x80);
        }
        section.extend_from_slice(&body);
        section
    }

    #[test]
    fn a_runtime_compressed_as_the_wasm_builder_does_has_its_version() {
        // Megabytes, at zstd level 22 (`compress_strongly`, what
        // substrate-wasm-builder and a `set_code` upload use): its window
        // is larger than the output, which the decoder only hands over
        // when the frame ends.
        let mut version = fields("big");
        version.extend_from_slice(&1u32.to_le_bytes());
        let wasm = module(&[
            custom("runtime_version", &version),
            big_custom("padding", 3 << 20),
        ]);
        let want = runtime_version(&wasm).expect("a version");
        let blob =
            sp_maybe_compressed_blob::compress_strongly(&wasm, BOMB_LIMIT).expect("compresses");
        assert!(blob.len() < wasm.len() / 4);
        assert_eq!(runtime_version(&blob), Some(want));
    }

    #[test]
    fn old_versions_get_defaults_and_bad_ones_none() {
        // No `runtime_apis` section and no `Core` API: a version before
        // `Core` 3, so transaction version 1 and system version 0.
        let wasm = module(&[custom("runtime_version", &fields("old"))]);
        let mut want = fields("old");
        want.extend_from_slice(&1u32.to_le_bytes());
        want.push(0);
        assert_eq!(runtime_version(&wasm), Some(want));
        // `Core` 4 without the fields it promises: undecodable.
        let mut apis = CORE_API.to_vec();
        apis.extend_from_slice(&4u32.to_le_bytes());
        let wasm = module(&[
            custom("runtime_version", &fields("short")),
            custom("runtime_apis", &apis),
        ]);
        assert_eq!(runtime_version(&wasm), None);
        // A clipped API record.
        let wasm = module(&[
            custom("runtime_version", &fields("x")),
            custom("runtime_apis", &apis[..11]),
        ]);
        assert_eq!(runtime_version(&wasm), None);
        // No version section; sections out of order; a name not UTF-8.
        assert_eq!(runtime_version(&module(&[custom("other", b"")])), None);
        let version = custom("runtime_version", &fields("x"));
        assert!(runtime_version(&module(&[vec![5, 0], vec![1, 0], version.clone()])).is_none());
        assert!(runtime_version(&module(&[vec![1, 0], vec![5, 0], version.clone()])).is_some());
        assert!(runtime_version(&module(&[vec![0, 2, 1, 0xff], version.clone()])).is_none());
        // A function section without code bodies.
        assert!(runtime_version(&module(&[vec![3, 2, 1, 0], version])).is_none());
    }

    #[test]
    fn leb128_reads_u32s() {
        assert_eq!(leb_u32(&[0x00]), Some((0, &[][..])));
        assert_eq!(leb_u32(&[0xe5, 0x8e, 0x26, 9]), Some((624_485, &[9][..])));
        assert_eq!(
            leb_u32(&[0xff, 0xff, 0xff, 0xff, 0x0f]),
            Some((u32::MAX, &[][..]))
        );
        assert_eq!(leb_u32(&[0xff, 0xff, 0xff, 0xff, 0x1f]), None);
        assert_eq!(leb_u32(&[0x80]), None);
    }
}
