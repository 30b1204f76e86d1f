//! JIP-4 chain specs: a dev genesis written and read back, the JIP's own
//! example bootnodes, and each kind of bad spec refused with the field named.

use parajam_authoring::{genesis, genesis_header, DevKeys};
use parajam_bandersnatch::RingContext;
use parajam_primitives::ProtocolParameters;
use parajam_spec::{Bootnode, ChainSpec, SpecError};

fn dev_spec() -> ChainSpec {
    let params = ProtocolParameters::TINY;
    let ring = RingContext::zcash(usize::from(params.validators_count)).expect("ring");
    let keys = DevKeys::new(params.validators_count);
    let state = genesis(
        &params,
        keys.validators(),
        std::collections::BTreeMap::default(),
        &ring,
    )
    .expect("genesis");
    let node =
        Bootnode::parse("evysk4p563r2kappaebqykryquxw5lfcclvf23dqqhi5n765h4kkb@127.0.0.1:40000")
            .expect("bootnode");
    ChainSpec::new(
        "parajam-dev",
        vec![node],
        genesis_header(&state),
        &state,
        params,
    )
}

/// `text` with the JSON value at `field` replaced by `value`.
fn with(text: &str, field: &str, value: serde_json::Value) -> String {
    let mut json: serde_json::Value = serde_json::from_str(text).expect("json");
    json[field] = value;
    json.to_string()
}

#[test]
fn a_written_spec_reads_back_the_same() {
    let spec = dev_spec();
    let text = spec.to_json();
    let read = ChainSpec::from_json(&text).expect("reads back");
    assert_eq!(read, spec);
    assert_eq!(read.to_json(), text);
    assert_eq!(read.protocol_parameters, ProtocolParameters::TINY);
    assert_eq!(read.state().expect("state"), spec.state().expect("state"));
}

#[test]
fn bootnodes_are_jip4_names_with_addresses() {
    // The two bootnodes of JIP-4's example.
    for text in [
        "evysk4p563r2kappaebqykryquxw5lfcclvf23dqqhi5n765h4kkb@192.168.50.18:62061",
        "egy5qba5fyjf7hn7bxeroo7ncqfk5otxvo6or77k23o6pjqnxdoxb@192.168.50.20:63747",
    ] {
        let node = Bootnode::parse(text).expect(text);
        assert_eq!(node.to_string(), text);
        assert_eq!(node.name().len(), 53);
    }
    let v6 = Bootnode::parse("evysk4p563r2kappaebqykryquxw5lfcclvf23dqqhi5n765h4kkb@[::1]:9000")
        .expect("IPv6");
    assert_eq!(v6.address.port(), 9000);
    for bad in [
        "evysk4p563r2kappaebqykryquxw5lfcclvf23dqqhi5n765h4kkb",
        "xvysk4p563r2kappaebqykryquxw5lfcclvf23dqqhi5n765h4kkb@127.0.0.1:1",
        "evysk4p563r2kappaebqykryquxw5lfcclvf23dqqhi5n765h4kk@127.0.0.1:1",
        "evysk4p563r2kappaebqykryquxw5lfcclvf23dqqhi5n765h4kk1@127.0.0.1:1",
        "evysk4p563r2kappaebqykryquxw5lfcclvf23dqqhi5n765h4kkb@host:1",
        "evysk4p563r2kappaebqykryquxw5lfcclvf23dqqhi5n765h4kkb@127.0.0.1:70000",
    ] {
        assert!(Bootnode::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn bad_specs_are_refused_naming_the_field() {
    let good = dev_spec().to_json();
    let cases: Vec<(String, &str)> = vec![
        ("not json".into(), "not a JIP-4 chain spec"),
        (with(&good, "extra", "x".into()), "unknown field `extra`"),
        (
            {
                let mut json: serde_json::Value = serde_json::from_str(&good).expect("json");
                json.as_object_mut()
                    .expect("an object")
                    .remove("genesis_header");
                json.to_string()
            },
            "missing field `genesis_header`",
        ),
        (with(&good, "id", "".into()), "id: empty"),
        (
            with(&good, "genesis_header", "zz".into()),
            "genesis_header: not hex",
        ),
        (
            with(&good, "genesis_header", "00".into()),
            "genesis_header:",
        ),
        (
            with(&good, "protocol_parameters", "0a00".into()),
            "protocol_parameters: not a parameter set",
        ),
        (
            with(&good, "bootnodes", serde_json::json!(["nobody@1.2.3.4:5"])),
            "bootnodes[0]:",
        ),
        (
            with(&good, "genesis_state", serde_json::json!({"00": "00"})),
            "31",
        ),
        (
            with(&good, "genesis_state", serde_json::json!({})),
            "genesis_state:",
        ),
    ];
    for (text, want) in cases {
        let error = ChainSpec::from_json(&text).expect_err(want).to_string();
        assert!(error.contains(want), "{error:?} should say {want:?}");
    }
}

#[test]
fn a_state_value_that_does_not_decode_is_refused() {
    let spec = dev_spec();
    let mut json: serde_json::Value = serde_json::from_str(&spec.to_json()).expect("json");
    let state = json["genesis_state"].as_object_mut().expect("an object");
    // C(1): the authorizations pool; one octet is not a pool.
    let key = format!("01{}", "00".repeat(30));
    assert!(state.contains_key(&key));
    state.insert(key, "ff".into());
    let error = ChainSpec::from_json(&json.to_string()).expect_err("bad state");
    assert!(matches!(error, SpecError::State(_)), "{error}");
}

#[test]
fn a_repeated_state_key_is_refused() {
    let text = dev_spec().to_json();
    let key = format!("\"01{}\"", "00".repeat(30));
    let at = text.find(&key).expect("C(1) in the spec");
    let line_end = at + text[at..].find('\n').expect("a line");
    let line = text[at..line_end].trim_end_matches(',').to_owned();
    let repeated = format!("{}{},\n{}", &text[..at], line, &text[at..]);
    let error = ChainSpec::from_json(&repeated).expect_err("duplicate");
    assert!(matches!(error, SpecError::DuplicateKey(_)), "{error}");
}
