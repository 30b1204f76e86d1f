//! SLOW (needs `runtime/parachain` built, from the cache): `parajam xcm
//! check` end to end, the real binary on two instances of
//! `runtime/parachain`: a channel 2000 → 2001 opened by XCM, a reserve
//! transfer over it, the channel closed; every block identical on wasm and
//! the PVM and enacted; exit 0 with an OK verdict; the same between paras
//! of two CoreChains instances (`--instances 2`), the channel opened and
//! closed by XCM with control memos, the transfer crossing as a JAM
//! transfer. Bad arguments: a clear
//! error, exit 1.

use std::path::PathBuf;
use std::process::Command;

use parajam_e2e::parajam_binary;

/// `parajam xcm check --runtime runtime/parachain <args>`: success,
/// stdout, stderr.
fn xcm_check(args: &[&str]) -> (bool, String, String) {
    let runtime = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../runtime/parachain");
    let out = Command::new(parajam_binary())
        .args(["xcm", "check", "--runtime"])
        .arg(runtime)
        .args(args)
        .output()
        .expect("running parajam xcm check");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn slow_xcm_check_opens_a_channel_transfers_and_closes_it() {
    let (ok, stdout, stderr) = xcm_check(&[]);
    assert!(ok, "{stdout}\n{stderr}");
    for step in [
        "[open request] para 2000",
        "[accept] para 2001",
        "[transfer] para 2000",
        "[receive] para 2001",
        "[close] para 2000",
        "[drain] para 2001",
    ] {
        assert!(stdout.contains(step), "{step}: {stdout}");
    }
    assert!(
        stdout.contains("channel 2000 -> 2001: requested (capacity 8, message size 1024)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("delivered 0 downward, 1 horizontal {2000: 1}"),
        "{stdout}"
    );
    assert!(
        stdout.contains("verdict: OK — 7 blocks (7 valid on wasm and PVM, identical, enacted)"),
        "{stdout}"
    );
    assert!(stdout.contains("channel 2000 -> 2001 closed"), "{stdout}");

    let (ok, stdout, stderr) = xcm_check(&["--paras", "2000"]);
    assert!(!ok, "{stdout}");
    assert!(stderr.contains("--paras: two para ids"), "{stderr}");
}

#[test]
fn slow_xcm_check_with_two_instances_crosses_as_jam_transfers() {
    let (ok, stdout, stderr) = xcm_check(&["--instances", "2"]);
    assert!(ok, "{stdout}\n{stderr}");
    for line in [
        "para 2000 on CoreChains service 1000, para 2001 on CoreChains service 1001",
        "[route] instance 1000: RouteDeclared { para: ParaId(2001), service: 1001, channels: 0 }",
        "[route] instance 1001: RouteDeclared { para: ParaId(2000), service: 1000, channels: 0 }",
        "[open request] para 2000",
        "JAM transfer, instance 1000: ControlSent { para: ParaId(2000), service: 1001, control: OpenRequest { channel: HrmpChannelId { sender: ParaId(2000), recipient: ParaId(2001) }",
        "JAM transfer, instance 1001: ControlReceived { source: 1000, para: ParaId(2001), control: OpenRequest",
        "JAM transfer, instance 1001: ControlSent { para: ParaId(2001), service: 1000, control: Accept",
        "JAM transfer, instance 1000: ControlReceived { source: 1001, para: ParaId(2000), control: Accept",
        "[transfer] para 2000",
        "JAM transfer, instance 1000: HorizontalSent { para: ParaId(2000), recipient: ParaId(2001), service: 1001, sequence: 0 }",
        "JAM transfer, instance 1001: TransferDelivered { source: 1000, para: ParaId(2001), amount: 0, delivery: Horizontal { sender: ParaId(2000), sequence: 0 } }",
        "JAM transfer, instance 1000: OutboxPruned { para: ParaId(2000), recipient: ParaId(2001), service: 1001, below: ",
        "JAM transfer, instance 1000: ControlSent { para: ParaId(2000), service: 1001, control: Close",
        "JAM transfer, instance 1001: ControlReceived { source: 1000, para: ParaId(2001), control: Close",
        "channel 2000 -> 2001 closed",
        "verdict: OK",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    assert!(!stdout.contains("TransferBounced"), "{stdout}");
    assert!(!stdout.contains("ControlRefused"), "{stdout}");

    let (ok, stdout, stderr) = xcm_check(&["--instances", "3"]);
    assert!(!ok, "{stdout}");
    assert!(stderr.contains("--instances 3: 1 or 2"), "{stderr}");
}
