//! One test per backend from one test body, as polkavm's own test suite
//! generates its tests: see [`backend_tests!`](crate::backend_tests).

use crate::{Backend, Pvm, PvmFlavor, PvmOptions, SandboxChoice};

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
///   the Linux sandbox): the `compiler` test prints on stderr that it
///   skipped its body and why, and passes;
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
                "{test}: skipped, the recompiler cannot start in the Linux sandbox here: {reason}"
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
