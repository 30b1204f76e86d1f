//! What tests of PVM code share: one test per backend from one test body,
//! as polkavm's own test suite generates its tests
//! ([`backend_tests!`](crate::backend_tests)), and hand-assembled code
//! blobs and standard programs ([`code_blob`], [`standard_blob`]).

use crate::{Backend, Pvm, PvmFlavor, PvmOptions, SandboxChoice};

/// The GP code blob (`deblob`, GP eq. A.2) of `code` with no jump table:
/// `E(0) ⌢ E_1(0) ⌢ E(|c|) ⌢ c ⌢ k`, the opcode bitmask `k` set at the
/// offsets `instruction_starts`. `|c|` must be below `2^14` (a natural
/// encoding of one or two octets).
pub fn code_blob(code: &[u8], instruction_starts: &[usize]) -> Vec<u8> {
    let len = code.len();
    assert!(len < 1 << 14, "code of {len} octets");
    let mut out = vec![0, 0];
    if len < 128 {
        out.push(u8::try_from(len).expect("small"));
    } else {
        out.push(0x80 | u8::try_from(len >> 8).expect("small"));
        out.push(u8::try_from(len & 0xff).expect("small"));
    }
    out.extend_from_slice(code);
    let mut mask = vec![0u8; len.div_ceil(8)];
    for &i in instruction_starts {
        mask[i / 8] |= 1 << (i % 8);
    }
    out.extend(mask);
    out
}

/// A standard program (GP §A.7, `Y`): `E_3(|o|) ⌢ E_3(|w|) ⌢ E_2(z) ⌢
/// E_3(s) ⌢ o ⌢ w ⌢ E_4(|c|) ⌢ c`, read-only data `o`, read-write data
/// `w`, `z` heap pages, a stack of `s` octets and the code blob `c`.
#[allow(clippy::many_single_char_names)] // GP's names
pub fn standard_blob(o: &[u8], w: &[u8], z: u16, s: u32, c: &[u8]) -> Vec<u8> {
    let mut p = (o.len() as u64).to_le_bytes()[..3].to_vec();
    p.extend_from_slice(&(w.len() as u64).to_le_bytes()[..3]);
    p.extend_from_slice(&z.to_le_bytes());
    p.extend_from_slice(&s.to_le_bytes()[..3]);
    p.extend_from_slice(o);
    p.extend_from_slice(w);
    p.extend_from_slice(&u32::try_from(c.len()).expect("small").to_le_bytes());
    p.extend_from_slice(c);
    p
}

/// Why the recompiler cannot start on this machine in the sandbox `choice`
/// names, or `None` where it starts. [`backend_tests!`](crate::backend_tests)
/// asks this before a `compiler` test runs its body.
#[doc(hidden)]
pub fn compiler_unavailable(choice: SandboxChoice) -> Option<String> {
    let options = PvmOptions {
        sandbox: choice,
        ..PvmOptions::default()
    };
    match Pvm::with_options(PvmFlavor::Gp072, options) {
        Ok(pvm) => pvm
            .backend_unavailable(Backend::Compiler)
            .map(str::to_owned),
        Err(e) => Some(e.to_string()),
    }
}

/// Generates one `#[test]` per [`Backend`] from test bodies
/// `fn name(backend: Backend)`: in the invoking module, a `mod interpreter`
/// and a `mod compiler`, each with one `#[test] fn name()` calling
/// `super::name` with its backend (test names `interpreter::name` and
/// `compiler::name`). A test whose point is that the two backends agree is
/// one crosscheck test instead, not generated here.
///
/// The body makes its own [`Pvm`]; the first line of the invocation says
/// in which sandbox that `Pvm` runs the recompiler, and so what the
/// `compiler` test does on a machine where it cannot start there:
///
/// * no line, or `sandbox: auto;` ([`Pvm::new`], [`SandboxChoice::Auto`]:
///   the generic sandbox, else the Linux one): the `compiler` test prints
///   on stderr that it skipped its body and why, and passes;
/// * `sandbox: any;` ([`Pvm::with_any_sandbox`],
///   [`SandboxChoice::LinuxOrGeneric`]): the recompiler runs on every
///   x86-64 machine, so the `compiler` test fails, naming the reason.
///
/// ```
/// use parajam_pvm::{Backend, ExitReason, InitialState, MachineState, Pvm, PvmFlavor};
///
/// fn trap_panics(backend: Backend) {
///     let pvm = Pvm::new(PvmFlavor::Gp072).expect("the interpreter always starts");
///     let init = InitialState {
///         machine: MachineState { gas: 10, ..MachineState::default() },
///         ..InitialState::default()
///     };
///     let out = pvm.run_code_blob(backend, &[0, 0, 1, 0, 0b1], &init).expect("runs");
///     assert_eq!(out.exit, ExitReason::Panic);
/// }
///
/// parajam_pvm::backend_tests! { trap_panics }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! backend_tests {
    (sandbox: auto; $($name:ident),+ $(,)?) => {
        $crate::backend_tests!(@generate
            $crate::SandboxChoice::Auto,
            |test: &str, reason: &str| ::std::eprintln!(
                "{test}: skipped, the recompiler cannot start here: {reason}"
            );
            $($name),+
        );
    };
    (sandbox: any; $($name:ident),+ $(,)?) => {
        $crate::backend_tests!(@generate
            $crate::SandboxChoice::LinuxOrGeneric,
            |test: &str, reason: &str| ::std::panic!(
                "{test}: the recompiler cannot start in any sandbox here: {reason}"
            );
            $($name),+
        );
    };
    ($($name:ident),+ $(,)?) => {
        $crate::backend_tests!(sandbox: auto; $($name),+);
    };
    (@generate $choice:expr, $unavailable:expr; $($name:ident),+) => {
        mod interpreter {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::Backend::Interpreter);
                }
            )+
        }
        mod compiler {
            $(
                #[test]
                fn $name() {
                    if let ::std::option::Option::Some(reason) =
                        $crate::testing::compiler_unavailable($choice)
                    {
                        let unavailable: fn(&str, &str) = $unavailable;
                        unavailable(
                            ::std::concat!(::std::module_path!(), "::", ::std::stringify!($name)),
                            &reason,
                        );
                        return;
                    }
                    super::$name($crate::Backend::Compiler);
                }
            )+
        }
    };
}
