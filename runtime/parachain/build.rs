//! The wasm runtime, built by substrate-wasm-builder as for any parachain
//! (`std` builds only; the wasm and PVM builds themselves have no `std`).

#[cfg(feature = "std")]
fn main() {
    substrate_wasm_builder::WasmBuilder::build_using_defaults();
}

#[cfg(not(feature = "std"))]
fn main() {}
