//! The facade's API as frontends use it, pinned by type. Each `let _: T = path;`
//! states a signature; each struct literal states every field.

use std::path::PathBuf;
use std::sync::Arc;

use lazyjit::engine::{
    BaselinePolicy, CacheConfig, Engine, EngineOptions, EngineStats, ObjectCache, OptLevel, OrcError, PolicyError, Shape, TierPolicy, TraceSink, Traces,
    Tiering,
};
use lazyjit::mir::ssa::{remove_trivial_params, Ssa};
use lazyjit::mir::{
    parse_module, print_function, print_module, verify_function, verify_module, Block, BlockCall, Const, DebugInfo, FuncId, Function, FunctionBuilder,
    Inst, InstData, Module, Opcode, ParseError, ResumeAt, RtDecl, RtId, SiteId, SnapSource, Snapshot, StrId, Type, Value, VarKind, VarName, VerifyError,
};
use lazyjit::runtime::{
    access, ChainLookup, Effects, FastPath, FloatPromotion, Hooks, HostObject, KeyError, Leaf, LoadError, Marker, Native, NativeFn, ObjectKind, RegVal,
    RtEntry, RtFn, RtRegistry, Table, TableAccess, Tag, Val, Vm, VmError, VmResult, INTERRUPTED_EXIT, LEAF_MISS, VARINFO,
};
use lazyjit::{Args, Error, FromVal, Func, IntoVal, Jit, JitBuilder, Results, Stats};

#[test]
fn building_mir() {
    let _: Module = Module::new("m");
    let _: fn(&mut Module, &[u8]) -> StrId = Module::intern;
    let _: fn(&mut Module, &str, Type) -> RtId = Module::declare_rt;
    let _: fn(&mut Module, Function) -> FuncId = Module::add_function;
    let mut f: Function = Function::new("f");
    builder_calls(&mut FunctionBuilder::new(&mut f), &mut Ssa::default());
    let _: fn(&mut Function) = remove_trivial_params;
    let _: fn(&str) -> Result<Module, ParseError> = parse_module;
    let _: fn(&Module) -> String = print_module;
    let _: fn(&Module, &Function) -> String = print_function;
    let _: fn(&Module) -> Result<(), Vec<VerifyError>> = verify_module;
    let _: fn(&Module, &Function) -> Result<(), Vec<VerifyError>> = verify_function;
    let _ = DebugInfo { line: 1, names: [Some(VarName { kind: VarKind::Global, name: StrId::new(0) }), None] };
    let _ = BlockCall { block: Block::new(0), args: vec![] };
    let _ = RtDecl { name: String::new(), ret: Type::Val };
    let _ = Snapshot { resume: ResumeAt { block: Block::new(0), index: 0 }, entries: vec![(Value::new(0), SnapSource::Const(Const::Nil))], blame: None, unreached: false };
    let _: [Const; 5] = [Const::Nil, Const::Bool(true), Const::Int(1), Const::Float(1.0), Const::Str(StrId::new(0))];
    let _: [Type; 6] = [Type::I1, Type::I64, Type::F64, Type::Ptr, Type::Val, Type::Pack];
    let _: fn(Inst) -> usize = Inst::index;
}

/// Every builder and SSA method a frontend calls, with the types of what goes in and
/// comes out.
fn builder_calls(b: &mut FunctionBuilder<'_>, ssa: &mut Ssa<u32>) {
    let block: Block = b.create_block();
    let p: Value = b.append_block_param(block, Type::Val);
    b.switch_to_block(block);
    b.set_loop_header(block);
    let _: Option<Block> = b.current_block();
    let c: Value = b.konst(Const::Int(1));
    let _: Value = b.iconst(2);
    let _: Value = b.fconst(2.5);
    let u: Value = b.unary(Opcode::UnboxInt, p);
    let _: Value = b.binary(Opcode::Iadd, u, u);
    let _: Value = b.ins1(InstData::Unary { op: Opcode::Ineg, arg: u });
    let _: Inst = b.ins(InstData::Binary { op: Opcode::CellSet, args: [p, c] });
    let site: SiteId = b.new_site();
    let _: Value = b.rtcall(RtId::new(0), Type::Val, vec![p], false, Some(site));
    let _: Vec<Value> = b.call(p, vec![c], false, 1);
    let _: Value = b.call_pack(p, vec![], false);
    let other = b.create_block();
    ssa.write(0, block, c);
    ssa.add_pred(other, block);
    ssa.seal(b, other);
    let _: Value = ssa.read(b, 0, other);
    b.brif(u, other, vec![], other, vec![]);
    b.jump(other, vec![]);
    b.tail_call(p, vec![], false);
    b.ret(vec![c], false);
}

struct Obj;
impl HostObject for Obj {
    fn trace(&self, _: &mut Marker) {}
}

#[test]
fn the_runtime() {
    let _: RtFn = |_: &mut Vm, _: &[Val]| -> VmResult<Val> { Ok(Val::NIL) };
    let _: NativeFn = |_: &mut Vm, _: usize, _: usize| -> VmResult<usize> { Ok(0) };
    let _ = Native { name: "n", f: |_, _, _| Ok(0) };
    let _: fn(&mut RtRegistry, &str, RtFn, Type, Effects) = RtRegistry::register;
    let _: fn(&mut RtRegistry, &str, [Tag; 2], Opcode) -> Result<(), String> = RtRegistry::declare_fast_path;
    let _: fn(&mut RtRegistry, &str, FloatPromotion) -> Result<(), String> = RtRegistry::declare_float_promotion;
    let _: fn(&mut RtRegistry, &str, TableAccess) -> Result<(), String> = RtRegistry::declare_table_access;
    let _: fn(&mut RtRegistry, &str, Leaf) -> Result<(), String> = RtRegistry::declare_leaf;
    let _: fn(&mut RtRegistry, &str, ChainLookup) -> Result<(), String> = RtRegistry::declare_chain_lookup;
    let _: fn(&mut RtRegistry, &'static Native, Tag, Opcode) -> Result<(), String> = RtRegistry::declare_native_op;
    let _: for<'r> fn(&'r RtRegistry, &str) -> Option<&'r RtEntry> = RtRegistry::get;
    let _ = Effects { pure: true };
    let _ = FastPath { tags: [Tag::Int, Tag::Int], op: Opcode::Iadd };
    let _ = FloatPromotion { op: Opcode::Fadd, ints_too: false };
    let _: [TableAccess; 2] = [TableAccess::Get, TableAccess::Set];
    let _: RegVal = RegVal { tag: LEAF_MISS, payload: 0 };
    let _: fn(Option<Hooks>) -> Vm = Vm::new;
    let _: fn(&mut Vm, &[u8]) -> Val = Vm::new_str;
    let _: fn(&mut Vm, usize, usize) -> Val = Vm::new_table;
    let _: fn(&mut Vm, Val, &[Val]) -> VmResult<Vec<Val>> = Vm::call;
    let _: fn(&mut Vm, Module, &RtRegistry) -> Result<Val, LoadError> = Vm::load;
    let _: fn(&mut Vm, &'static str) -> ObjectKind = Vm::register_kind::<Obj>;
    let _: fn(&mut Vm, ObjectKind, Obj) -> Val = Vm::new_object::<Obj>;
    let _: for<'v> fn(&'v Vm, Val) -> Option<&'v mut Obj> = Vm::object::<Obj>;
    let _: fn(&Vm, Val) -> Option<ObjectKind> = Vm::object_kind;
    let _: fn(&mut Vm) = Vm::collect_garbage;
    let _: for<'v> fn(&'v Vm) -> Option<(VarKind, &'v [u8])> = Vm::calling_name;
    let _: fn(Val) -> &'static [u8] = access::bytes_of;
    let _: fn(Val) -> &'static mut Table = access::table_of;
    let _: fn(i64) -> Val = Val::int;
    let _: fn(f64) -> Val = Val::float;
    let _: fn(bool) -> Val = Val::bool;
    let _: fn(Val) -> Tag = Val::tag;
    let _: VmError = VmError::about(0, String::from("about operand 0"));
    let _: VmError = VmError::msg("message");
    let _: [KeyError; 2] = [KeyError::Nil, KeyError::NaN];
    let _: (&str, i32) = (VARINFO, INTERRUPTED_EXIT);
    let _ = Hooks { call_handler: |_, _| None, call_error: |_, _| VmError::msg("x") };
    let _: [Tag; 12] = Tag::ALL;
}

#[test]
fn the_engine_and_jit() {
    let _: fn(RtRegistry) -> JitBuilder = Jit::builder;
    let _: fn(JitBuilder, TierPolicy) -> JitBuilder = JitBuilder::policy;
    let _: fn(JitBuilder) -> JitBuilder = JitBuilder::interpreter_only;
    let _: fn(JitBuilder, PathBuf) -> JitBuilder = |b, dir| b.cache_dir(dir);
    let _: fn(JitBuilder) -> JitBuilder = JitBuilder::no_cache;
    let _: fn(JitBuilder, Traces) -> JitBuilder = JitBuilder::traces;
    let _: fn(JitBuilder) -> Result<Jit, Error> = JitBuilder::build;
    let _: fn(&mut Jit, Module) -> Result<Func<(), ()>, Error> = Jit::load;
    let _: fn(&mut Jit, &str) -> Result<Func<(i64, f64), (bool, String)>, Error> = Jit::function;
    let _: fn(&mut Jit, &Func<(i64,), i64>, (i64,)) -> Result<i64, Error> = Jit::call;
    let _: fn(&mut Jit, Val, &[Val]) -> Result<Vec<Val>, Error> = Jit::call_value;
    let _: fn(&Jit) -> Stats = Jit::stats;
    let _: fn(&Jit) = Jit::wait_idle;
    let _: fn(&Jit) -> Vec<String> = Jit::warnings;
    let _: fn(&mut Jit) -> &mut Vm = Jit::vm;
    let _: fn(&Func<(), i64>, &mut Jit, ()) -> Result<i64, Error> = Func::call;
    let _ = Stats {
        functions_defined: 0,
        functions_compiled: 0,
        functions_shared: 0,
        cache_hits: 0,
        cache_misses: 0,
        optimized_cache_hits: 0,
        optimized_cache_misses: 0,
        compiles_compact: 0,
        compiles_inline: 0,
        compiles_osr: 0,
        compiles_optimized: 0,
        deopts: 0,
        collections: 0,
    };
    let _: fn(&str) -> Result<TierPolicy, PolicyError> = TierPolicy::parse;
    let _: fn(&str) -> Option<TierPolicy> = TierPolicy::builtin;
    let _: fn(&str) -> Result<TierPolicy, String> = TierPolicy::load;
    let _: fn(&TierPolicy) -> Tiering = TierPolicy::tiering;
    let _: fn(&TierPolicy) -> OptLevel = TierPolicy::inline_opt;
    let _: fn(OptLevel, Tiering, EngineOptions) -> Result<Engine, OrcError> = Engine::with_options;
    let _: fn(&Engine, &mut Vm, usize) -> Result<(), OrcError> = Engine::attach;
    let _: fn(&Engine) -> &EngineStats = Engine::stats;
    let _: fn(&Engine, Option<TraceSink>) = Engine::set_trace_sink;
    let _: fn(&Engine, Arc<ObjectCache>) -> bool = Engine::set_cache;
    let _: fn(CacheConfig) -> ObjectCache = ObjectCache::open;
    let _ = Traces { tier: true, deopt: false };
    let _ = EngineOptions { debugger: false };
    let _: [Shape; 2] = [Shape::Compact, Shape::Inline];
    let _: Option<&BaselinePolicy> = None;
    let _: std::thread::Result<u8> = lazyjit::on_large_stack(1 << 20, || 7u8);
}

#[test]
fn typed_values() {
    fn args<A: Args>() -> usize {
        A::COUNT
    }
    fn results<R: Results>() {}
    fn into<T: IntoVal>() {}
    fn from<T: FromVal>() {}
    assert_eq!(args::<()>() + args::<(i64, f64, bool, &str, String, Val)>(), 6);
    results::<()>();
    results::<(i64, f64)>();
    results::<Vec<Val>>();
    results::<Option<String>>();
    into::<i32>();
    from::<Option<bool>>();
}
