//! [`Pvm`]: one API over polkavm's interpreter and recompiler, with the
//! recompiler's sandbox choice and caches of parsed and compiled code.

use std::fmt;
use std::sync::OnceLock;

use polkavm::{
    ArcBytes, Config, Engine, MemoryProtection, Module, ProgramBlob, ProgramCounter, ProgramParts,
    Reg,
};

use crate::code::{sbrk_offsets, CodeBlob};
use crate::crosscheck::{lockstep_code, CodeEvent, CodeRun};
use crate::error::{PvmError, Stepped};
use crate::flavor::PvmFlavor;
use crate::quirks::{
    branches_to_no_block_start, effective_backend, interpreter_needs_steps,
    jumps_to_code_end_plus_two,
};
use crate::types::{Backend, InitialState, Outcome, LOWEST_ACCESSIBLE_ADDRESS, PAGE_SIZE};
use crate::vm::{Instance, VmModule};
use crate::{cache, ModuleCacheStats, Program, DEFAULT_MODULE_CACHE_CAPACITY};

/// How closely runs are observed, and where the recompiler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PvmOptions {
    /// Stop after every instruction to note its pc. Much slower; needed
    /// only to know the pc of the instruction that halted (see
    /// [`Outcome::machine`]), which the PVM test vectors record.
    pub step_tracing: bool,
    /// Which sandbox the recompiler's code runs in (see [`Sandbox`]).
    pub sandbox: SandboxChoice,
}

/// Where code compiled by polkavm's recompiler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sandbox {
    /// polkavm's Linux sandbox: guest code runs in a separate, unprivileged
    /// worker process (namespaces, seccomp, an empty address space), so a
    /// recompiler bug cannot reach the node's memory. Each host call is a
    /// hand-off between the two processes (a futex wake, `sched_yield`s,
    /// a futex wait): a few microseconds on an idle machine, but with the
    /// other cores busy each hand-off waits for the scheduler, and a
    /// service program that answers thousands of host calls of its inner
    /// machine per work item slows down by one to two orders of magnitude
    /// (BENCHMARKS.md, "Where Ξ's time goes"). Dynamic paging needs
    /// `userfaultfd` for the worker (`vm.unprivileged_userfaultfd = 1`).
    /// Only when asked for ([`SandboxChoice::Only`], or
    /// `PARAJAM_PVM_SANDBOX=linux`), or where the generic one cannot start.
    Linux,
    /// polkavm's generic sandbox: guest code runs in this process, in its
    /// own reserved, guard-paged 4 GiB mapping, every access of the
    /// compiled code relative to its base, with faults caught by signal
    /// handlers; no kernel setting is needed, and a host call is a function
    /// return. What it gives up against [`Sandbox::Linux`] is a second
    /// line of defence: a recompiler bug that let guest code out of its
    /// mapping would reach the node's memory, where the Linux sandbox's
    /// worker has nothing to reach (polkavm marks the generic sandbox
    /// experimental). It is the same isolation as a Substrate node's
    /// in-process wasm JIT for runtime code. The one [`SandboxChoice::Auto`]
    /// takes: the GP's results, gas and faults are the same in both (the
    /// PVM vectors, the crosschecks and the refine tests), and only it keeps
    /// refine fast when the machine is busy. Three polkavm 0.30 defects are
    /// mended here: it answers a dynamic jump to a bad address with a page
    /// fault where the GP panics (eq. A.18; see `CodeRun::next`), it
    /// keeps a standard program's 16 MiB argument zone resident and
    /// re-protects it on every run (see `release_argument_zone`), and it
    /// does not confine a load or store through a register with no offset
    /// to the guest's mapping: code blobs run on polkavm 0.37's recompiler
    /// instead, which does ([`Pvm::is_translated`]); other code with such
    /// an access runs on the interpreter unless trusted ([`trust_code`]).
    Generic,
}

impl Sandbox {
    /// `"linux"` or `"generic"`.
    pub const fn name(self) -> &'static str {
        match self {
            Sandbox::Linux => "linux",
            Sandbox::Generic => "generic",
        }
    }

    pub(crate) const fn kind(self) -> polkavm::SandboxKind {
        match self {
            Sandbox::Linux => polkavm::SandboxKind::Linux,
            Sandbox::Generic => polkavm::SandboxKind::Generic,
        }
    }
}

impl fmt::Display for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which [`Sandbox`] the recompiler should use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SandboxChoice {
    /// The generic (in-process) sandbox, else the Linux one;
    /// `PARAJAM_PVM_SANDBOX=linux` or `=generic` asks for only that one.
    #[default]
    Auto,
    /// Only this sandbox; the recompiler is unavailable if it cannot start.
    Only(Sandbox),
    /// The Linux sandbox, else the generic one: for tests and checks that
    /// must exercise the recompiler on any machine.
    LinuxOrGeneric,
}

/// The PVM: one polkavm engine per backend, for one [`PvmFlavor`].
pub struct Pvm {
    pub(crate) flavor: PvmFlavor,
    pub(crate) options: PvmOptions,
    pub(crate) interpreter: Engine,
    /// Started on first use: it spawns sandbox worker processes.
    pub(crate) compiler: OnceLock<Result<(Engine, Sandbox), String>>,
    /// polkavm 0.37's recompiler, for code blobs (see `translate`), in
    /// the sandbox [`Self::compiler`] runs in; started on first use.
    pub(crate) translated_compiler: OnceLock<Result<polkavm037::Engine, String>>,
    /// Standard program modules by code hash and backend.
    pub(crate) modules: cache::ModuleCache,
    /// Parsed standard programs by a caller's key (see [`Pvm::cached_program`]),
    /// most recently used last.
    pub(crate) programs: std::sync::Mutex<Vec<([u8; 32], Program)>>,
    /// Prepared code blobs with their octets, most recently used last (see
    /// [`Pvm::prepare_code`]); as many as the module cache holds.
    pub(crate) prepared: std::sync::Mutex<Vec<(std::sync::Arc<[u8]>, CodeBlob)>>,
    /// How many code blobs [`Self::prepared`] keeps.
    pub(crate) prepared_capacity: usize,
    /// Instances of finished standard program runs, by code hash, with the
    /// length of their arguments, for the next run (see [`Pvm::recycle`]),
    /// most recently finished last.
    pub(crate) idle_instances: std::sync::Mutex<Vec<([u8; 32], u32, Instance)>>,
}

impl fmt::Debug for Pvm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pvm")
            .field("flavor", &self.flavor)
            .field("options", &self.options)
            .field(
                "compiler",
                &self.compiler.get().map(|e| e.as_ref().map(|_| "started")),
            )
            .finish_non_exhaustive()
    }
}

pub(crate) fn new_engine(backend: Backend, sandbox: Option<Sandbox>) -> Result<Engine, String> {
    if !backend.kind().is_supported() {
        return Err(format!(
            "polkavm has no {backend} backend for this platform"
        ));
    }
    // `Config::new`, not `from_env`: POLKAVM_* variables must not change
    // consensus behaviour.
    let mut config = Config::new();
    config.set_backend(Some(backend.kind()));
    config.set_allow_dynamic_paging(true);
    if let Some(sandbox) = sandbox {
        config.set_sandbox(Some(sandbox.kind()));
        // polkavm asks for this to run its generic sandbox: it is not
        // process-isolated (see `Sandbox::Generic`). Nothing else that
        // `allow_experimental` unlocks is used here.
        config.set_allow_experimental(sandbox == Sandbox::Generic);
    }
    Engine::new(&config).map_err(|e| {
        let mut reason = e.to_string();
        if reason.contains("userfaultfd") {
            // Dynamic paging in the Linux sandbox needs userfaultfd, which
            // the kernel refuses to the sandbox's unprivileged worker.
            reason.push_str(
                "; the recompiler's sandbox needs userfaultfd for dynamic paging: \
                 set the sysctl vm.unprivileged_userfaultfd=1",
            );
        }
        reason
    })
}

/// The recompiler's engine in the sandbox `choice` names.
pub(crate) fn new_compiler(choice: SandboxChoice) -> Result<(Engine, Sandbox), String> {
    // `PARAJAM_PVM_SANDBOX=linux|generic` settles `Auto` for a whole
    // process (benchmarks, and operators who want the Linux sandbox's
    // process isolation whatever it costs).
    let sandbox = match (choice, std::env::var("PARAJAM_PVM_SANDBOX").as_deref()) {
        (SandboxChoice::Only(sandbox), _) => sandbox,
        (SandboxChoice::Auto, Ok("generic")) => Sandbox::Generic,
        (SandboxChoice::Auto, Ok("linux")) => Sandbox::Linux,
        (SandboxChoice::Auto, _) => {
            return new_compiler(SandboxChoice::Only(Sandbox::Generic))
                .or_else(|_| new_compiler(SandboxChoice::Only(Sandbox::Linux)));
        }
        (SandboxChoice::LinuxOrGeneric, _) => {
            return new_compiler(SandboxChoice::Only(Sandbox::Linux))
                .or_else(|_| new_compiler(SandboxChoice::Only(Sandbox::Generic)));
        }
    };
    new_engine(Backend::Compiler, Some(sandbox))
        .map(|engine| (engine, sandbox))
        .map_err(|reason| format!("polkavm's {sandbox} sandbox cannot start: {reason}"))
}

/// polkavm 0.37's recompiler in `sandbox`, as [`new_engine`] configures
/// 0.30's.
fn new_translated_compiler(sandbox: Sandbox) -> Result<polkavm037::Engine, String> {
    let mut config = polkavm037::Config::new();
    config.set_backend(Some(polkavm037::BackendKind::Compiler));
    config.set_allow_dynamic_paging(true);
    config.set_sandbox(Some(match sandbox {
        Sandbox::Linux => polkavm037::SandboxKind::Linux,
        Sandbox::Generic => polkavm037::SandboxKind::Generic,
    }));
    config.set_allow_experimental(sandbox == Sandbox::Generic);
    polkavm037::Engine::new(&config).map_err(|e| e.to_string())
}

/// Code hashes whose programs run in the generic sandbox even where its
/// confinement depends on the code (see [`trust_code`]).
static TRUSTED_CODE: std::sync::RwLock<Vec<[u8; 32]>> = std::sync::RwLock::new(Vec::new());

/// Vouches for the code whose Blake2b-256 hash (of the standard program or
/// code blob, as [`Program::code_hash`] has it) is `hash`, process-wide:
/// the recompiler may run it in its generic sandbox although it loads or
/// stores through a register with no offset, which polkavm 0.30 confines
/// to the guest's mapping only when the register's upper 32 bits are
/// clear (see `unconfined_on_generic_sandbox`). Code compiled from safe
/// Rust keeps pointers below 2^32, so a program built into the binary (the
/// CoreChains service and its authorizer) is trusted by the binary, which
/// owns that policy; any other code such accesses run on the interpreter.
pub fn trust_code(hash: [u8; 32]) {
    let mut trusted = TRUSTED_CODE
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !trusted.contains(&hash) {
        trusted.push(hash);
    }
}

fn is_trusted(hash: &[u8; 32]) -> bool {
    TRUSTED_CODE
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .contains(hash)
}

impl Pvm {
    /// Creates the engines. The interpreter must start; the compiler starts
    /// on first use and may be unavailable on this machine (see
    /// [`Pvm::backend_unavailable`]).
    pub fn new(flavor: PvmFlavor) -> Result<Self, PvmError> {
        Self::with_options(flavor, PvmOptions::default())
    }

    /// [`Pvm::new`] with the recompiler in whichever sandbox starts
    /// ([`SandboxChoice::LinuxOrGeneric`]): for tests that must run both
    /// backends on any machine.
    pub fn with_any_sandbox(flavor: PvmFlavor) -> Result<Self, PvmError> {
        Self::with_options(
            flavor,
            PvmOptions {
                sandbox: SandboxChoice::LinuxOrGeneric,
                ..PvmOptions::default()
            },
        )
    }

    /// [`Pvm::new`] with non-default [`PvmOptions`].
    pub fn with_options(flavor: PvmFlavor, options: PvmOptions) -> Result<Self, PvmError> {
        let interpreter = new_engine(Backend::Interpreter, None).map_err(|reason| {
            PvmError::BackendUnavailable {
                backend: Backend::Interpreter,
                reason,
            }
        })?;
        Ok(Self {
            flavor,
            options,
            interpreter,
            compiler: OnceLock::new(),
            translated_compiler: OnceLock::new(),
            modules: cache::ModuleCache::new(DEFAULT_MODULE_CACHE_CAPACITY),
            programs: std::sync::Mutex::default(),
            prepared: std::sync::Mutex::default(),
            prepared_capacity: DEFAULT_MODULE_CACHE_CAPACITY,
            idle_instances: std::sync::Mutex::default(),
        })
    }

    /// The standard program `blob`, parsed once per `key`: `key` must
    /// determine `blob` (a service's code hash does: it is the hash of the
    /// preimage the code comes from). Saves parsing and hashing the blob on
    /// every invocation; invalid blobs are not remembered.
    pub fn cached_program(&self, key: [u8; 32], blob: &[u8]) -> Result<Program, PvmError> {
        let lock = || {
            self.programs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        {
            let mut programs = lock();
            if let Some(i) = programs.iter().position(|(k, _)| *k == key) {
                let entry = programs.remove(i);
                let program = entry.1.clone();
                programs.push(entry);
                return Ok(program);
            }
        }
        let program = Program::from_standard_blob_for(self.flavor, blob)?;
        let mut programs = lock();
        if programs.len() >= DEFAULT_MODULE_CACHE_CAPACITY {
            programs.remove(0);
        }
        programs.push((key, program.clone()));
        Ok(program)
    }

    /// This PVM with a module cache of at most `capacity` modules (0: no
    /// caching), emptying the cache.
    #[must_use]
    pub fn with_module_cache_capacity(mut self, capacity: usize) -> Self {
        self.modules = cache::ModuleCache::new(capacity);
        self.prepared = std::sync::Mutex::default();
        self.prepared_capacity = capacity;
        self
    }

    /// Hits, misses and size of the module cache.
    pub fn module_cache_stats(&self) -> ModuleCacheStats {
        self.modules.stats()
    }

    /// Drops every cached module (the counters stay).
    pub fn clear_module_cache(&self) {
        self.modules.clear();
        self.idle_instances
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
        self.prepared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// The flavor this PVM runs.
    pub fn flavor(&self) -> PvmFlavor {
        self.flavor
    }

    /// The options this PVM runs with.
    pub fn options(&self) -> PvmOptions {
        self.options
    }

    pub(crate) fn compiler(&self) -> &Result<(Engine, Sandbox), String> {
        self.compiler
            .get_or_init(|| new_compiler(self.options.sandbox))
    }

    /// The sandbox the recompiler runs in (starting it if it has not
    /// started yet), or `None` where the recompiler is unavailable.
    /// The backend that really runs the code `blob` (whose code hash is
    /// `hash`) when `backend` is asked for (see `effective_backend`).
    pub(crate) fn effective_backend(
        &self,
        backend: Backend,
        blob: &ProgramBlob,
        hash: [u8; 32],
    ) -> Backend {
        let sandbox = (backend == Backend::Compiler)
            .then(|| self.compiler_sandbox())
            .flatten();
        effective_backend(self.flavor, backend, blob, sandbox, is_trusted(&hash))
    }

    pub fn compiler_sandbox(&self) -> Option<Sandbox> {
        self.compiler().as_ref().ok().map(|&(_, sandbox)| sandbox)
    }

    /// Why `backend` cannot run here, or `None` if it can (starting the
    /// compiler engine if it has not started yet).
    pub fn backend_unavailable(&self, backend: Backend) -> Option<&str> {
        match backend {
            Backend::Interpreter => None,
            Backend::Compiler => self.compiler().as_ref().err().map(String::as_str),
        }
    }

    /// The fastest backend available, chosen at run time: the recompiler
    /// where it starts (in either sandbox), otherwise the interpreter.
    /// Measured on refine (BENCHMARKS.md): the recompiler in the generic
    /// sandbox is the fastest idle and under load; in the Linux sandbox it
    /// is as fast idle and slower than the interpreter under load, which
    /// an operator who asks for it (`PARAJAM_PVM_SANDBOX=linux`) accepts.
    pub fn preferred_backend(&self) -> Backend {
        match self.compiler_sandbox() {
            Some(_) => Backend::Compiler,
            None => Backend::Interpreter,
        }
    }

    pub(crate) fn engine(&self, backend: Backend) -> Result<&Engine, PvmError> {
        match backend {
            Backend::Interpreter => Ok(&self.interpreter),
            Backend::Compiler => {
                self.compiler()
                    .as_ref()
                    .map(|(engine, _)| engine)
                    .map_err(|reason| PvmError::BackendUnavailable {
                        backend,
                        reason: reason.clone(),
                    })
            }
        }
    }

    /// Runs the GP code blob `code` (the `deblob` format of GP eq. A.2:
    /// jump table, code and opcode bitmask) from `init` until it exits:
    /// `Ψ(code, ı, ϱ, ω, μ)` of GP eq. A.1.
    pub fn run_code_blob(
        &self,
        backend: Backend,
        code: &[u8],
        init: &InitialState,
    ) -> Result<Outcome, PvmError> {
        let code = self.prepare_code(code)?;
        self.run_code(backend, &code, init)
    }

    /// Parses a GP code blob once, for many [`Pvm::run_code`] runs (an inner
    /// machine resumed after each host call): the parse, the hash that keys
    /// its compiled module in the cache, and its `sbrk` sites.
    ///
    /// The last blobs prepared are kept with their octets (as many as the
    /// module cache holds): preparing the same octets again (the same PVF,
    /// block after block) is one comparison of them, not a parse, a hash
    /// and a scan (27–30 ms for a 5.7 MB cumulus runtime). Equal octets
    /// are the key, so no collision can hand out another blob.
    pub fn prepare_code(&self, code: &[u8]) -> Result<CodeBlob, PvmError> {
        let lock = || {
            self.prepared
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if self.prepared_capacity > 0 {
            let mut prepared = lock();
            if let Some(i) = prepared.iter().position(|(octets, _)| **octets == *code) {
                let entry = prepared.remove(i);
                let blob = entry.1.clone();
                prepared.push(entry);
                return Ok(blob);
            }
        }
        let blob = self.parse_code_blob(code)?;
        let sbrk_pcs = sbrk_offsets(&blob);
        let wide = std::sync::Arc::new(crate::quirks::wide_destinations(self.flavor, &blob));
        let translated = crate::translate::translate_code_blob(self.flavor, &blob, code)
            .filter(|_| {
                !jumps_to_code_end_plus_two(self.flavor, &blob)
                    && !branches_to_no_block_start(self.flavor, &blob)
            })
            .map(std::sync::Arc::from);
        // Domain-separated from standard programs' keys (another layout).
        let hash = parajam_crypto::blake2b_256_concat(&[b"parajam/code-blob", code]);
        let prepared_blob = CodeBlob {
            hash,
            blob,
            sbrk_pcs,
            wide,
            translated,
        };
        if self.prepared_capacity > 0 {
            let mut prepared = lock();
            if prepared.len() >= self.prepared_capacity {
                prepared.remove(0);
            }
            prepared.push((code.into(), prepared_blob.clone()));
        }
        Ok(prepared_blob)
    }

    /// [`Pvm::run_code_blob`] on a prepared blob; its module is compiled
    /// once and then taken from the module cache.
    pub fn run_code(
        &self,
        backend: Backend,
        code: &CodeBlob,
        init: &InitialState,
    ) -> Result<Outcome, PvmError> {
        check_initial_memory(init)?;
        let mut run = self.start_code(backend, code, init, false)?;
        let exit = loop {
            if let CodeEvent::Exit(exit) = run.next()? {
                break exit;
            }
        };
        run.finish(exit, init)
    }

    /// Compiles `code`'s module for `backend` as a run does, bypassing the
    /// module cache: what loading a program costs, for measuring it.
    pub fn compile_code(&self, backend: Backend, code: &CodeBlob) -> Result<(), PvmError> {
        self.engine(backend)?;
        self.compile_module(backend, code, self.code_options(backend, code, false))
            .map(drop)
    }

    /// The module options for `code`. `sbrk` needs the standard layout's
    /// heap (GP §A.5.9: without it `h = 0` and the instruction has no
    /// meaningful result), and polkavm 0.30's interpreter cannot run it
    /// under dynamic paging at all. So a run stops with a panic when it
    /// reaches one, which needs a step trace to catch it in time on both
    /// backends; a lockstep crosscheck (`steps`) needs one as well.
    ///
    /// Code that runs translated (see [`Pvm::translated_engine`]) has no
    /// `sbrk` and no wide destination, so it steps only when asked to.
    pub(crate) fn code_options(
        &self,
        backend: Backend,
        code: &CodeBlob,
        steps: bool,
    ) -> PvmOptions {
        let mut options = self.options;
        let mended = !code.sbrk_pcs.is_empty() || !code.wide.is_empty();
        options.step_tracing |=
            steps || (mended && self.translated_engine(backend, code).is_none());
        options
    }

    /// Whether `code` runs on polkavm 0.37's recompiler when `backend` is
    /// asked for: renumbered to its instruction set (see the crate docs,
    /// "Two polkavm releases"), where that is exact and the recompiler
    /// starts. Otherwise polkavm 0.30 runs it.
    pub fn is_translated(&self, backend: Backend, code: &CodeBlob) -> bool {
        self.translated_engine(backend, code).is_some()
    }

    /// polkavm 0.37's recompiler, if `code` runs on it when `backend` is
    /// asked for: the compiler, for code that translates exactly (see
    /// `translate`), where that recompiler starts in the sandbox the
    /// 0.30 one runs in.
    pub(crate) fn translated_engine(
        &self,
        backend: Backend,
        code: &CodeBlob,
    ) -> Option<&polkavm037::Engine> {
        if backend != Backend::Compiler || code.translated.is_none() {
            return None;
        }
        let sandbox = self.compiler_sandbox()?;
        self.translated_compiler
            .get_or_init(|| new_translated_compiler(sandbox))
            .as_ref()
            .ok()
    }

    /// `code`'s module on `backend` with `options`.
    pub(crate) fn compile_module(
        &self,
        backend: Backend,
        code: &CodeBlob,
        mut options: PvmOptions,
    ) -> Result<VmModule, PvmError> {
        if let (Some(engine), Some(translated)) =
            (self.translated_engine(backend, code), &code.translated)
        {
            let mut parts =
                polkavm037::ProgramParts::empty(polkavm037::program::InstructionSetKind::JamV1);
            parts.code_and_jump_table = polkavm037::ArcBytes::from(&translated[..]);
            let blob = polkavm037::ProgramBlob::from_parts(parts)
                .map_err(|e| PvmError::Module(format!("translated code: {e}")))?;
            return polkavm037::Module::from_blob(
                engine,
                &self.flavor.translated_module_config(options),
                blob,
            )
            .map(VmModule::V037)
            .map_err(|e| PvmError::Module(e.to_string()));
        }
        let blob = &code.blob;
        let really = self.effective_backend(backend, blob, code.hash);
        options.step_tracing |= interpreter_needs_steps(self.flavor, really, blob);
        Module::from_blob(
            self.engine(really)?,
            &self.flavor.module_config(options),
            blob.clone(),
        )
        .map(VmModule::V030)
        .map_err(|e| PvmError::Module(e.to_string()))
    }

    /// An instance of `code` on `backend` in the state `init` (checked
    /// already), ready to run: its module from the cache, or, for a
    /// lockstep crosscheck (`steps`), a step-traced module of its own.
    pub(crate) fn start_code<'c>(
        &self,
        backend: Backend,
        code: &'c CodeBlob,
        init: &InitialState,
        steps: bool,
    ) -> Result<CodeRun<'c>, PvmError> {
        self.engine(backend)?;
        let options = self.code_options(backend, code, steps);
        let compile = || self.compile_module(backend, code, options);
        let module = if steps {
            compile()?
        } else {
            self.modules.get_or_compile((code.hash, backend), compile)?
        };
        let mut instance = module.instantiate()?;
        load_memory(&mut instance, init)?;
        for (reg, value) in Reg::ALL.into_iter().zip(init.machine.regs) {
            instance.set_reg(reg, value);
        }
        instance.set_gas(init.machine.gas);
        instance.set_next_program_counter(ProgramCounter(init.machine.pc));
        Ok(CodeRun {
            flavor: self.flavor,
            code,
            instance,
            halt_pc_known: options.step_tracing,
            last_step: None,
            steps: 0,
            pending_wide: None,
        })
    }

    /// Runs `code` on both backends and checks that exit, registers, pc,
    /// gas and memory agree exactly; returns the (common) outcome.
    pub fn crosscheck(&self, code: &[u8], init: &InitialState) -> Result<Outcome, PvmError> {
        let interpreted = self.run_code_blob(Backend::Interpreter, code, init)?;
        let compiled = self.run_code_blob(Backend::Compiler, code, init)?;
        match interpreted.difference(&compiled) {
            None => Ok(interpreted),
            Some(d) => Err(PvmError::Divergence(d)),
        }
    }

    /// Runs `code` on both backends in lockstep, step-traced, and checks
    /// after every instruction that both are at the same pc with the same
    /// registers and gas, and at the end that exit, registers, pc, gas and
    /// memory agree; returns the (common) outcome and how many
    /// instructions ran. The first difference is a
    /// [`PvmError::DivergenceAt`] naming the instruction (its number and
    /// pc) after which the machines differ.
    ///
    /// Much slower than [`Pvm::crosscheck`] (every instruction stops both
    /// machines; on the recompiler that is a round trip to its sandbox):
    /// for tests and the conformance vectors.
    pub fn crosscheck_steps(
        &self,
        code: &[u8],
        init: &InitialState,
    ) -> Result<Stepped<Outcome>, PvmError> {
        let code = self.prepare_code(code)?;
        check_initial_memory(init)?;
        let a = self.start_code(Backend::Interpreter, &code, init, true)?;
        let b = self.start_code(Backend::Compiler, &code, init, true)?;
        lockstep_code(a, b, init)
    }

    /// Whether `code` is a GP code blob this PVM can load: `deblob(code) ≠ ∇`
    /// (GP eq. A.2), within polkavm's limits.
    pub fn is_valid_code_blob(&self, code: &[u8]) -> bool {
        self.parse_code_blob(code).is_ok()
    }

    /// `ı + 1 + skip(ı)` (GP §A.3): the offset of the instruction after the
    /// one at `pc` in the code blob `code`, where a machine resumes after
    /// an `ecalli` at `pc` (GP §A.6 and B.8 `invoke`). Like the GP's
    /// `skip`, defined at any offset of the code, by the opcode bitmask;
    /// `None` if `pc` is beyond the code; an error if the blob does not
    /// parse.
    pub fn next_instruction_offset(&self, code: &[u8], pc: u32) -> Result<Option<u32>, PvmError> {
        Ok(self.prepare_code(code)?.next_instruction_offset(pc))
    }

    /// The gas a run charges twice when it starts at `pc` in the middle of
    /// a basic block: the cost of the block's instructions before `pc`
    /// (zero at a block start). polkavm charges a block's whole cost when
    /// execution enters it, wherever in the block it enters, so a caller
    /// that resumes a machine mid-block (after an `ecalli`, GP B.8
    /// `invoke`) adds this to the gas to charge only from `pc` on.
    pub fn block_entry_overcharge(&self, code: &[u8], pc: u32) -> Result<i64, PvmError> {
        Ok(self.prepare_code(code)?.block_entry_overcharge(pc) * self.flavor.gas_per_instruction())
    }

    pub(crate) fn parse_code_blob(&self, code: &[u8]) -> Result<ProgramBlob, PvmError> {
        let mut parts = ProgramParts::empty(self.flavor.instruction_set());
        parts.code_and_jump_table = ArcBytes::from(code);
        Ok(ProgramBlob::from_parts(parts)?)
    }
}

/// Checks the page map and that every initial chunk lies on it.
pub(crate) fn check_initial_memory(init: &InitialState) -> Result<(), PvmError> {
    let mut ranges: Vec<(u64, u64)> = Vec::with_capacity(init.pages.len());
    for range in &init.pages {
        let bad = |reason| PvmError::InvalidPages {
            address: range.address,
            length: range.length,
            reason,
        };
        if range.address % PAGE_SIZE != 0 || range.length % PAGE_SIZE != 0 {
            return Err(bad("not a whole number of pages"));
        }
        if range.address < LOWEST_ACCESSIBLE_ADDRESS {
            return Err(bad("below 2^16, which is never accessible"));
        }
        let start = u64::from(range.address);
        let end = start + u64::from(range.length);
        if end > 1 << 32 {
            return Err(bad("beyond the 32-bit address space"));
        }
        if ranges.iter().any(|&(s, e)| start < e && s < end) {
            return Err(bad("overlaps another range"));
        }
        ranges.push((start, end));
    }
    for chunk in &init.memory {
        let start = u64::from(chunk.address);
        let end = start + chunk.contents.len() as u64;
        // Ranges do not overlap, so a chunk may span adjacent ranges: walk it.
        let mut at = start;
        while at < end {
            match ranges.iter().find(|&&(s, e)| s <= at && at < e) {
                Some(&(_, e)) => at = e,
                None => {
                    return Err(PvmError::MemoryNotMapped {
                        address: chunk.address,
                        length: chunk.contents.len(),
                    })
                }
            }
        }
    }
    Ok(())
}

/// Maps the pages (writable at first), writes the initial contents, then
/// makes the read-only ranges read-only.
pub(crate) fn load_memory(instance: &mut Instance, init: &InitialState) -> Result<(), PvmError> {
    for range in &init.pages {
        instance.zero_memory_with_memory_protection(
            range.address,
            range.length,
            MemoryProtection::ReadWrite,
        )?;
    }
    for chunk in &init.memory {
        instance.write_memory(chunk.address, &chunk.contents)?;
    }
    for range in init.pages.iter().filter(|r| !r.is_writable && r.length > 0) {
        instance.protect_memory(range.address, range.length)?;
    }
    Ok(())
}
