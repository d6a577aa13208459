//! Laziness: stubs compile nothing, each body is materialized once, on its
//! first call, and bodies calling each other through stubs stay lazy.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{add_const, as_fn, call_plus};
use lazyjit_orc::{body_symbol, MaterializeRequest, ObjectBuffer, Session};

/// Counts the runs of one materializer.
#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

impl Counter {
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A materializer for `i64 f(i64 x) = x + k` under the requested symbol.
fn add_const_body(
    k: i64,
    runs: &Counter,
) -> impl FnOnce(&MaterializeRequest) -> Result<ObjectBuffer, String> + Send {
    let runs = runs.clone();
    move |req| {
        runs.0.fetch_add(1, Ordering::SeqCst);
        Ok(add_const(req.symbol(), k))
    }
}

#[test]
fn stubs_compile_nothing_and_each_body_compiles_once_on_first_call() {
    let session = Session::new().expect("session");
    let (f_runs, g_runs) = (Counter::default(), Counter::default());
    session
        .add_lazy_function("f", add_const_body(1, &f_runs))
        .expect("add f");
    session
        .add_lazy_function("g", add_const_body(2, &g_runs))
        .expect("add g");

    let f_addr = session.lookup("f").expect("lookup f");
    let g_addr = session.lookup("g").expect("lookup g");
    assert_ne!(f_addr, g_addr);
    assert_eq!(
        (f_runs.get(), g_runs.get()),
        (0, 0),
        "looking up stubs compiled something"
    );
    assert_eq!(session.stats().materializer_runs, 0);

    let f = unsafe { as_fn(f_addr) };
    assert_eq!(unsafe { f(10) }, 11);
    assert_eq!(
        (f_runs.get(), g_runs.get()),
        (1, 0),
        "the first call materializes exactly f"
    );

    for x in 0..5 {
        assert_eq!(unsafe { f(x) }, x + 1);
    }
    assert_eq!(
        session.lookup("f").expect("lookup f again"),
        f_addr,
        "the stub address is stable"
    );
    assert_eq!(f_runs.get(), 1, "calling again re-materialized");
    assert_eq!(g_runs.get(), 0, "g was never called, so never materialized");
    assert_eq!(session.stats().materializer_runs, 1);
    assert!(session.take_errors().is_empty());
}

/// Lazy functions `outer(x) = inner(x) + plus` and `inner(x) = x + k`, with counters of
/// their materializer runs.
fn add_outer_and_inner(session: &Session, plus: i64, k: i64) -> (Counter, Counter) {
    let (outer_runs, inner_runs) = (Counter::default(), Counter::default());
    let runs = outer_runs.clone();
    session
        .add_lazy_function("outer", move |req| {
            runs.0.fetch_add(1, Ordering::SeqCst);
            // `inner` by its public name: resolved through impl's forwarding generator to
            // inner's lazy stub in main.
            Ok(call_plus(req.symbol(), "inner", plus))
        })
        .expect("add outer");
    session
        .add_lazy_function("inner", add_const_body(k, &inner_runs))
        .expect("add inner");
    (outer_runs, inner_runs)
}

#[test]
fn a_body_calling_another_lazy_function_materializes_both_on_first_call() {
    let session = Session::new().expect("session");
    let (outer_runs, inner_runs) = add_outer_and_inner(&session, 100, 7);

    let outer = unsafe { as_fn(session.lookup("outer").expect("lookup")) };
    assert_eq!((outer_runs.get(), inner_runs.get()), (0, 0));
    assert_eq!(unsafe { outer(1) }, 108);
    assert_eq!((outer_runs.get(), inner_runs.get()), (1, 1));
    assert_eq!(unsafe { outer(2) }, 109);
    let inner = unsafe { as_fn(session.lookup("inner").expect("lookup inner")) };
    assert_eq!(unsafe { inner(0) }, 7);
    assert_eq!((outer_runs.get(), inner_runs.get()), (1, 1));
    assert!(session.take_errors().is_empty());
}

#[test]
fn linking_a_caller_does_not_materialize_its_callee() {
    // outer's body references inner's stub; linking outer must not compile
    // inner. Only calling outer, which calls inner, does.
    let session = Session::new().expect("session");
    let (outer_runs, inner_runs) = add_outer_and_inner(&session, 0, 3);
    session
        .lookup_body("outer")
        .expect("materialize outer's body only");
    assert_eq!((outer_runs.get(), inner_runs.get()), (1, 0));
}

#[test]
fn a_body_may_call_host_symbols() {
    extern "C" fn lz_host_double(x: i64) -> i64 {
        2 * x
    }
    let session = Session::new().expect("session");
    session
        .define_host_symbols(&[(
            "lz_host_double",
            lz_host_double as extern "C" fn(i64) -> i64 as usize as u64,
        )])
        .expect("host");
    session
        .add_lazy_function("h", |req| Ok(call_plus(req.symbol(), "lz_host_double", 1)))
        .expect("add h");
    let h = unsafe { as_fn(session.lookup("h").expect("lookup")) };
    assert_eq!(unsafe { h(20) }, 41);
}

#[test]
fn the_request_names_the_body_symbol() {
    assert_eq!(body_symbol("fib"), "fib.body");
    let session = Session::new().expect("session");
    let seen = Arc::new(std::sync::Mutex::new(None));
    {
        let seen = Arc::clone(&seen);
        session
            .add_lazy_function("fib", move |req| {
                *seen.lock().expect("lock") =
                    Some((req.name().to_owned(), req.symbol().to_owned()));
                Ok(add_const(req.symbol(), 0))
            })
            .expect("add");
    }
    let fib = unsafe { as_fn(session.lookup("fib").expect("lookup")) };
    assert_eq!(unsafe { fib(5) }, 5);
    assert_eq!(
        *seen.lock().expect("lock"),
        Some((String::from("fib"), String::from("fib.body")))
    );
}

#[test]
fn adding_the_same_lazy_function_twice_is_refused() {
    let session = Session::new().expect("session");
    session
        .add_lazy_function("twice", |req| Ok(add_const(req.symbol(), 0)))
        .expect("first");
    let err = session
        .add_lazy_function("twice", |req| Ok(add_const(req.symbol(), 0)))
        .expect_err("second");
    assert!(err.to_string().contains("twice"), "{err}");
}
