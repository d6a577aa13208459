//! Measures the cost of laziness for a tiny function at O0: session creation,
//! stub lookup, and the first call (materializer: build IR with inkwell,
//! compile, emit, link), as medians over many fresh sessions.
//!
//! `cargo run --release -p lazyjit-orc --example first_call_latency`

use std::time::{Duration, Instant};

use lazyjit_orc::inkwell::context::Context;
use lazyjit_orc::{compile_module, OptLevel, Session};

fn add1_object(symbol: &str) -> Result<lazyjit_orc::ObjectBuffer, String> {
    let cx = Context::create();
    let m = cx.create_module(symbol);
    let i64t = cx.i64_type();
    let f = m.add_function(symbol, i64t.fn_type(&[i64t.into()], false), None);
    let b = cx.create_builder();
    b.position_at_end(cx.append_basic_block(f, "entry"));
    let x = f.get_nth_param(0).ok_or("no param")?.into_int_value();
    let y = b
        .build_int_add(x, i64t.const_int(1, false), "y")
        .map_err(|e| e.to_string())?;
    b.build_return(Some(&y)).map_err(|e| e.to_string())?;
    Ok(compile_module(&m, OptLevel::O0)?)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    const ROUNDS: usize = 200;
    // Warm up target registration and this thread's TargetMachine.
    add1_object("warmup")?;
    let (mut create, mut lookup, mut first, mut second) = (vec![], vec![], vec![], vec![]);
    let materialize = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let session = Session::new()?;
        create.push(t.elapsed());
        let times = std::sync::Arc::clone(&materialize);
        session.add_lazy_function("add1", move |req| {
            let t = Instant::now();
            let object = add1_object(req.symbol());
            times.lock().map_err(|e| e.to_string())?.push(t.elapsed());
            object
        })?;

        let t = Instant::now();
        let address = session.lookup("add1")?;
        lookup.push(t.elapsed());
        // SAFETY: `add1` is `i64 (i64)` and the session outlives the calls.
        let f =
            unsafe { std::mem::transmute::<usize, extern "C" fn(i64) -> i64>(address as usize) };
        let t = Instant::now();
        let r = f(41);
        first.push(t.elapsed());
        let t = Instant::now();
        let r2 = f(1);
        second.push(t.elapsed());
        assert_eq!((r, r2), (42, 2));
    }
    let (lookup_m, first_m) = (median(lookup.clone()), median(first.clone()));
    println!("median over {ROUNDS} fresh sessions:");
    println!("  Session::new                  {:>9.3?}", median(create));
    println!("  stub lookup                   {lookup_m:>9.3?}");
    println!("  first call (materialize+link) {first_m:>9.3?}");
    let materialize = median(materialize.lock().map_err(|e| e.to_string())?.clone());
    println!("    of which IR build + compile {materialize:>9.3?}");
    println!(
        "  stub lookup + first call      {:>9.3?}",
        lookup_m + first_m
    );
    println!("  second call                   {:>9.3?}", median(second));
    Ok(())
}
