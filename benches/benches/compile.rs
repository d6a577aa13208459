//! Baseline-tier compile latency (MIR -> object bytes) of both code shapes for small,
//! medium (straight, and with a loop) and large functions, and end-to-end first-call latency through a lazy stub
//! (the default tiering: compact code for the loop-free function).

use std::sync::atomic::Ordering;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use lazyjit_ir::interp::Vm;
use lazyjit_orc::engine::{Engine, Shape};
use lazyjit_orc::lower::{lower_compact, lower_proto, LowerOptions};
use lazyjit_orc::{compile_module_with, CodegenOptions, OptLevel, RegAlloc};

/// A Lua function whose body is `n` arithmetic statements (about 3 MIR ops each), in a
/// counted loop if `looped`.
fn source(n: usize, looped: bool) -> String {
    let mut s = String::from("local function f(a, b)\n  local x = a\n");
    if looped {
        s.push_str("  for i = 1, b do\n");
    }
    for i in 0..n {
        s.push_str(&format!("  x = x * {} + b - {}\n", i % 7 + 1, i % 5));
    }
    if looped {
        s.push_str("  end\n");
    }
    s.push_str("  return x\nend\nreturn f\n");
    s
}

/// A VM with the program loaded; returns the VM and the main closure.
fn load(src: &str) -> (Vm, lazyjit_ir::rt::Val) {
    let module = lazyjit_lua::compile(src.as_bytes(), "bench").expect("compiles");
    let mut vm = Vm::new(None);
    lazyjit_lua::runtime::install(&mut vm, "bench", &[]);
    let main = vm.load(module, &lazyjit_lua::runtime::registry()).expect("loads");
    (vm, main)
}

fn compile_latency(c: &mut Criterion) {
    // Inline code (values in registers, fast paths inline; greedy register allocation),
    // and compact code (one host call per op; fast register allocation), each from MIR
    // to object bytes.
    for shape in [Shape::Inline, Shape::Compact] {
        let mut group = c.benchmark_group(format!("baseline-compile-{}", shape.name()));
        let sizes = [("empty", 0, false), ("small", 4, false), ("medium", 16, false), ("medium-loop", 6, true), ("large", 128, false)];
        for (label, statements, looped) in sizes {
            let (vm, _) = load(&source(statements, looped));
            let module = &vm.modules()[0];
            let proto = &module.protos[1];
            let ops = proto.code.len();
            let opts = LowerOptions { symbol: "f".into(), ..Default::default() };
            let codegen = CodegenOptions {
                regalloc: if shape == Shape::Compact { RegAlloc::Fast } else { RegAlloc::Greedy },
                ..CodegenOptions::default()
            };
            group.bench_function(format!("{label}-{ops}ops"), |b| {
                b.iter(|| {
                    let ctx = lazyjit_orc::inkwell::context::Context::create();
                    let m = match shape {
                        Shape::Inline => lower_proto(&ctx, proto, module, &opts),
                        Shape::Compact => lower_compact(&ctx, proto, &opts),
                    }
                    .expect("lowers");
                    compile_module_with(&m, &codegen).expect("compiles")
                })
            });
        }
        group.finish();
    }
}

fn first_call(c: &mut Criterion) {
    let mut group = c.benchmark_group("first-call");
    group.sample_size(20);
    let src = source(16, false);
    group.bench_function("stub-to-result", |b| {
        b.iter_batched(
            || {
                let (mut vm, main) = load(&src);
                let f = vm.call(main, &[]).expect("main runs")[0];
                let engine = Engine::new(OptLevel::O0).expect("engine");
                engine.attach(&mut vm, 0).expect("attach");
                (vm, f, engine)
            },
            |(mut vm, f, engine)| {
                let r = vm.call(f, &[lazyjit_ir::rt::Val::int(3), lazyjit_ir::rt::Val::int(4)]).expect("call");
                assert_eq!(engine.stats().functions_compiled.load(Ordering::Relaxed), 1);
                (r, vm, engine)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, compile_latency, first_call);
criterion_main!(benches);
