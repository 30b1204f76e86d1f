//! `cargo run -q --release --manifest-path zombienet/Cargo.toml -p
//! parajam-protoc` prints the path of the `protoc` binary the
//! `protoc-bin-vendored` crate ships (Google's release builds), for
//! `PROTOC=$(…)`: zombienet-sdk's dependency litep2p generates protobuf
//! code in its build script and needs one. `.ci/run` uses it when no
//! `protoc` is installed.

use std::process::ExitCode;

fn main() -> ExitCode {
    match protoc_bin_vendored::protoc_bin_path() {
        Ok(path) => {
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("no vendored protoc for this platform: {e}");
            ExitCode::FAILURE
        }
    }
}
