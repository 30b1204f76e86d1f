//! The legacy path: a wasm PVF on wasmtime, called as the relay chain's PVF
//! executor calls it.
//!
//! - wasm MVP only (no bulk memory, multi-value, SIMD, reference types,
//!   tail calls), as Polkadot's executor configures it;
//! - the Substrate host functions the PVF imports from `env` by name are
//!   served by the CoreChains service's own table
//!   (`parajam_corechains_service::host_functions::Call::serve`, with its
//!   freeing-bump allocator over the wasm memory from `__heap_base`), so the
//!   two engines share one implementation; an import the table does not
//!   have traps when called (the relay chain's executor allows missing
//!   imports the same way);
//! - the memory is the module's export `memory`, or the `env.memory` it
//!   imports;
//! - the params are allocated in the heap and `validate_block(ptr, len)` is
//!   called; its `i64` is `ptr | len << 32` of the result;
//! - wasmtime fuel bounds the run, so a PVF that loops stops.

use parajam_corechains_service::allocator::Allocator;
use parajam_corechains_service::host::{InnerExit, InnerVm, LogLevel, RefineHost};
use parajam_corechains_service::host_functions::{self, Call, HostFunction, Session, ValueType};
use parajam_corechains_types::{unpack_ptr_and_len, InvalidReason};
use wasmtime::{
    AsContextMut, Caller, Config, Engine, ExternType, FuncType, Linker, Memory, Module, Store,
    Trap, Val, ValType,
};

use crate::{LogLine, PvfError, Validated};

/// The wasm page.
const WASM_PAGE: u64 = 65_536;

/// A compiled wasm PVF.
pub struct WasmPvf {
    engine: Engine,
    module: Module,
}

impl std::fmt::Debug for WasmPvf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmPvf").finish_non_exhaustive()
    }
}

/// What the store holds for one call.
struct HostState {
    memory: Option<Memory>,
    session: Option<Session>,
    host_calls: u32,
    logs: Vec<LogLine>,
    failure: Option<InvalidReason>,
}

impl WasmPvf {
    /// Compiles `code` (a wasm module) with the features a PVF may use.
    pub fn new(code: &[u8]) -> Result<Self, PvfError> {
        let mut config = Config::new();
        config
            .wasm_bulk_memory(false)
            .wasm_multi_value(false)
            .wasm_simd(false)
            .wasm_relaxed_simd(false)
            .wasm_multi_memory(false)
            .wasm_tail_call(false)
            .wasm_extended_const(false)
            .consume_fuel(true);
        let engine = Engine::new(&config).map_err(|e| PvfError::Engine(e.to_string()))?;
        let module = Module::new(&engine, code).map_err(|e| PvfError::BadCode(e.to_string()))?;
        Ok(Self { engine, module })
    }

    /// `validate_block` on the encoded `params` with at most `fuel`; the
    /// result octets, fuel used and host calls, and the PVF's log lines.
    pub fn validate_block(
        &self,
        params: &[u8],
        fuel: u64,
    ) -> Result<(Validated, Vec<LogLine>), PvfError> {
        let mut store = Store::new(
            &self.engine,
            HostState {
                memory: None,
                session: None,
                host_calls: 0,
                logs: Vec::new(),
                failure: None,
            },
        );
        store
            .set_fuel(fuel)
            .map_err(|e| PvfError::Engine(e.to_string()))?;
        let (instance, memory) = self.instantiate(&mut store)?;
        store.data_mut().memory = Some(memory);
        let size = memory.data_size(&store) as u64;
        let heap_base = instance
            .get_global(&mut store, "__heap_base")
            .and_then(|g| g.get(&mut store).i32())
            .and_then(|base| u64::try_from(base).ok())
            .unwrap_or(size);
        let max = memory
            .ty(&store)
            .maximum()
            .map_or(1 << 32, |pages| pages * WASM_PAGE);
        let heap_end = u32::try_from(max.min(u64::from(u32::MAX))).unwrap_or(u32::MAX);
        let heap_base = u32::try_from(heap_base).map_err(|_| PvfError::BadCode("heap".into()))?;
        // The allocator maps 4 KiB pages beyond those it is told are in use:
        // start it past the memory the module already has.
        let mut heap = Allocator::new(0, heap_base, heap_end);
        let params_len =
            u32::try_from(params.len()).map_err(|_| PvfError::Engine("params".into()))?;
        let params_at = {
            let mut grow = Grow {
                store: store.as_context_mut(),
                memory,
            };
            heap.malloc(&mut grow, params_len)
                .map_err(|e| PvfError::Engine(format!("allocating the params: {e:?}")))?
        };
        memory
            .write(&mut store, params_at as usize, params)
            .map_err(|e| PvfError::Engine(e.to_string()))?;
        store.data_mut().session = Some(Session::new(heap));
        let entry = instance
            .get_typed_func::<(i32, i32), i64>(&mut store, "validate_block")
            .map_err(|e| PvfError::BadCode(e.to_string()))?;
        #[allow(clippy::cast_possible_wrap)] // wasm i32s are the same bits
        let call = entry.call(&mut store, (params_at as i32, params_len as i32));
        let used = fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let packed = match call {
            Ok(packed) => packed,
            Err(e) => {
                if let Some(reason) = store.data_mut().failure.take() {
                    return Err(PvfError::Invalid(reason));
                }
                if e.downcast_ref::<Trap>() == Some(&Trap::OutOfFuel) {
                    return Err(PvfError::Invalid(InvalidReason::OutOfGas));
                }
                return Err(PvfError::Trap(format!("{e:#}")));
            }
        };
        #[allow(clippy::cast_sign_loss)] // the same bits
        let (ptr, len) = unpack_ptr_and_len(packed as u64);
        let mut result = vec![0; len as usize];
        memory
            .read(&store, ptr as usize, &mut result)
            .map_err(|_| PvfError::Invalid(InvalidReason::BadResult))?;
        let state = store.into_data();
        Ok((
            Validated {
                result,
                used,
                host_calls: state.host_calls,
            },
            state.logs,
        ))
    }

    /// Links the imports (the table's functions, `env.memory`, traps for
    /// the rest) and instantiates; the instance and its memory.
    fn instantiate(
        &self,
        store: &mut Store<HostState>,
    ) -> Result<(wasmtime::Instance, Memory), PvfError> {
        let mut linker = Linker::new(&self.engine);
        for import in self.module.imports() {
            match import.ty() {
                ExternType::Func(_) if import.module() == "env" => {
                    let symbol = import.name().as_bytes().to_vec();
                    if let Some(entry) = host_functions::lookup(&symbol) {
                        let function = entry.function;
                        let result = entry.signature.result;
                        let ty = signature(&self.engine, entry.signature);
                        linker
                            .func_new("env", import.name(), ty, move |caller, args, results| {
                                serve(caller, function, result, &symbol, args, results)
                            })
                            .map_err(|e| PvfError::Engine(e.to_string()))?;
                    }
                }
                ExternType::Memory(ty) if (import.module(), import.name()) == ("env", "memory") => {
                    let memory = Memory::new(&mut *store, ty)
                        .map_err(|e| PvfError::BadCode(e.to_string()))?;
                    store.data_mut().memory = Some(memory);
                    linker
                        .define(&*store, "env", "memory", memory)
                        .map_err(|e| PvfError::Engine(e.to_string()))?;
                }
                _ => {}
            }
        }
        linker
            .define_unknown_imports_as_traps(&self.module)
            .map_err(|e| PvfError::BadCode(e.to_string()))?;
        let instance = linker
            .instantiate(&mut *store, &self.module)
            .map_err(|e| PvfError::BadCode(e.to_string()))?;
        let memory = match store.data().memory {
            Some(memory) => memory,
            None => instance
                .get_memory(&mut *store, "memory")
                .ok_or_else(|| PvfError::BadCode("no memory".into()))?,
        };
        Ok((instance, memory))
    }
}

/// A table function's wasm signature (the wasm FFI of
/// `sp-runtime-interface`: pointers `i32`, pointer-sizes `i64`).
fn signature(engine: &Engine, signature: host_functions::Signature) -> FuncType {
    let ty = |t: &ValueType| match t {
        ValueType::I32 => ValType::I32,
        ValueType::I64 => ValType::I64,
    };
    FuncType::new(
        engine,
        signature.params.iter().map(ty),
        signature.result.iter().map(ty),
    )
}

/// Serves one host call with the service's table: the wasm arguments become
/// `ω7 ..`, `ω7` after the call is the result.
fn serve(
    mut caller: Caller<'_, HostState>,
    function: HostFunction,
    result_type: Option<ValueType>,
    symbol: &[u8],
    args: &[Val],
    results: &mut [Val],
) -> wasmtime::Result<()> {
    let mut regs = [0u64; 13];
    for (reg, arg) in regs[7..].iter_mut().zip(args) {
        *reg = match arg {
            #[allow(clippy::cast_sign_loss)] // an i32 is a u32's bits
            Val::I32(v) => u64::from(*v as u32),
            #[allow(clippy::cast_sign_loss)]
            Val::I64(v) => *v as u64,
            _ => 0,
        };
    }
    let (Some(memory), Some(mut session)) =
        (caller.data().memory, caller.data_mut().session.take())
    else {
        return Err(wasmtime::Error::msg("host function before the call"));
    };
    caller.data_mut().host_calls += 1;
    let mut logs = Vec::new();
    let outcome = {
        let mut grow = Grow {
            store: caller.as_context_mut(),
            memory,
        };
        let mut adapter = Adapter {
            grow: &mut grow,
            logs: &mut logs,
        };
        let mut call = Call {
            host: &mut adapter,
            vm: 0,
            session: &mut session,
        };
        call.serve(function, symbol, &mut regs)
    };
    let data = caller.data_mut();
    data.session = Some(session);
    data.logs.extend(logs);
    if let Err(reason) = outcome {
        data.failure = Some(reason.clone());
        return Err(wasmtime::Error::msg(format!("{reason:?}")));
    }
    if let Some(result) = results.first_mut() {
        #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)] // the same bits
        {
            *result = match result_type {
                Some(ValueType::I64) => Val::I64(regs[7] as i64),
                _ => Val::I32(regs[7] as u32 as i32),
            };
        }
    }
    Ok(())
}

/// The wasm memory as an inner machine's: mapping pages grows the memory.
struct Grow<'a> {
    store: wasmtime::StoreContextMut<'a, HostState>,
    memory: Memory,
}

/// `Grow` with the log of the call, as the table's host.
struct Adapter<'a, 'b> {
    grow: &'a mut Grow<'b>,
    logs: &'a mut Vec<LogLine>,
}

impl InnerVm for Grow<'_> {
    fn machine(&mut self, _code: &[u8], _pc: u64) -> Option<u64> {
        None
    }

    fn zero_pages(&mut self, _vm: u64, page: u64, count: u64, _writable: bool) -> bool {
        let end = page.saturating_add(count).saturating_mul(4096);
        let size = self.memory.data_size(&self.store) as u64;
        if end <= size {
            return true;
        }
        let pages = (end - size).div_ceil(WASM_PAGE);
        self.memory.grow(&mut self.store, pages).is_ok()
    }

    fn protect_pages(&mut self, _vm: u64, _page: u64, _count: u64, _writable: bool) -> bool {
        false
    }

    fn peek(&mut self, _vm: u64, dst: &mut [u8], src: u64) -> bool {
        usize::try_from(src).is_ok_and(|src| self.memory.read(&self.store, src, dst).is_ok())
    }

    fn poke(&mut self, _vm: u64, src: &[u8], dst: u64) -> bool {
        usize::try_from(dst).is_ok_and(|dst| self.memory.write(&mut self.store, dst, src).is_ok())
    }

    fn invoke(
        &mut self,
        _vm: u64,
        _gas: i64,
        _regs: [u64; 13],
    ) -> Option<(InnerExit, i64, [u64; 13])> {
        None
    }

    fn expunge(&mut self, _vm: u64) -> Option<u64> {
        None
    }
}

impl InnerVm for Adapter<'_, '_> {
    fn machine(&mut self, code: &[u8], pc: u64) -> Option<u64> {
        self.grow.machine(code, pc)
    }
    fn zero_pages(&mut self, vm: u64, page: u64, count: u64, writable: bool) -> bool {
        self.grow.zero_pages(vm, page, count, writable)
    }
    fn protect_pages(&mut self, vm: u64, page: u64, count: u64, writable: bool) -> bool {
        self.grow.protect_pages(vm, page, count, writable)
    }
    fn peek(&mut self, vm: u64, dst: &mut [u8], src: u64) -> bool {
        self.grow.peek(vm, dst, src)
    }
    fn poke(&mut self, vm: u64, src: &[u8], dst: u64) -> bool {
        self.grow.poke(vm, src, dst)
    }
    fn invoke(
        &mut self,
        vm: u64,
        gas: i64,
        regs: [u64; 13],
    ) -> Option<(InnerExit, i64, [u64; 13])> {
        self.grow.invoke(vm, gas, regs)
    }
    fn expunge(&mut self, vm: u64) -> Option<u64> {
        self.grow.expunge(vm)
    }
}

impl RefineHost for Adapter<'_, '_> {
    fn gas(&mut self) -> u64 {
        u64::MAX
    }
    fn historical_lookup(&mut self, _hash: &[u8; 32]) -> Option<Vec<u8>> {
        None
    }
    fn extrinsic(&mut self, _index: usize) -> Option<Vec<u8>> {
        None
    }
    fn context(&mut self) -> ([u8; 32], [u8; 32]) {
        ([0; 32], [0; 32])
    }
    fn log(&mut self, level: LogLevel, target: &[u8], message: &[u8]) {
        self.logs.push(LogLine {
            level,
            target: target.to_vec(),
            message: message.to_vec(),
        });
    }
}
