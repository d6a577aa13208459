//! Failing lazy functions: a materializer error, a panic, an object without
//! the body symbol, and garbage bytes. The process survives, the failed call
//! returns FAILED_LAZY_CALL_RESULT, and both the per-thread failure count and
//! the session's error log show it.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{add_const, as_fn, call_plus};
use lazyjit_orc::{
    take_failed_lazy_calls, ObjectBuffer, Session, SessionOptions, FAILED_LAZY_CALL_RESULT,
};

/// Adds `name` with a materializer that counts its runs and returns `result`.
fn add_failing(
    session: &Session,
    name: &str,
    result: impl FnOnce() -> Result<ObjectBuffer, String> + Send + 'static,
) -> Arc<AtomicUsize> {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    session
        .add_lazy_function(name, move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            result()
        })
        .expect("add");
    runs
}

/// Calls `name` twice and checks that both calls failed cleanly, the
/// materializer ran once, and an error mentioning `needle` was logged.
fn assert_fails_cleanly(session: &Session, name: &str, runs: &AtomicUsize, needle: &str) {
    take_failed_lazy_calls();
    let f = unsafe { as_fn(session.lookup(name).expect("lookup stub")) };
    assert_eq!(unsafe { f(5) }, FAILED_LAZY_CALL_RESULT as i64);
    assert_eq!(take_failed_lazy_calls(), 1);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let errors = session.take_errors();
    assert!(
        errors.iter().any(|e| e.contains(needle)),
        "no error mentions {needle:?}: {errors:?}"
    );

    // A second call fails again, without running the materializer again.
    assert_eq!(unsafe { f(6) }, FAILED_LAZY_CALL_RESULT as i64);
    assert_eq!(take_failed_lazy_calls(), 1);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(
        !session.take_errors().is_empty(),
        "the second failure was not reported"
    );
}

#[test]
fn a_materializer_error_fails_the_call_without_crashing() {
    let session = Session::new().expect("session");
    let runs = add_failing(&session, "bad", || Err(String::from("no luck today")));
    assert_fails_cleanly(&session, "bad", &runs, "no luck today");
    assert_eq!(session.stats().materializer_failures, 1);
}

#[test]
fn a_materializer_panic_fails_the_call_without_crashing() {
    let session = Session::new().expect("session");
    let runs = add_failing(&session, "boom", || panic!("materializer exploded"));
    assert_fails_cleanly(&session, "boom", &runs, "materializer exploded");
    assert_eq!(session.stats().materializer_failures, 1);
}

#[test]
fn an_object_without_the_body_symbol_fails_the_call() {
    let session = Session::new().expect("session");
    // Defines `wrong_name` instead of `nameless.body`.
    let runs = add_failing(&session, "nameless", || Ok(add_const("wrong_name", 1)));
    assert_fails_cleanly(&session, "nameless", &runs, "nameless.body");
}

#[test]
fn an_object_with_an_unresolvable_reference_fails_the_call() {
    let session = Session::new().expect("session");
    let runs = add_failing(&session, "dangling", || {
        Ok(call_plus("dangling.body", "lz_not_defined_anywhere", 0))
    });
    assert_fails_cleanly(&session, "dangling", &runs, "lz_not_defined_anywhere");
}

#[test]
fn garbage_object_bytes_fail_the_call() {
    let session = Session::new().expect("session");
    let runs = add_failing(&session, "garbage", || {
        Ok(ObjectBuffer::from_bytes(vec![0xde, 0xad, 0xbe, 0xef]))
    });
    assert_fails_cleanly(&session, "garbage", &runs, "");
}

#[test]
fn a_failure_inside_a_nested_lazy_call_returns_to_the_jit_caller() {
    // outer(x) = bad(x) + 7: bad fails, returns 0 to outer, which adds 7.
    let session = Session::new().expect("session");
    session
        .add_lazy_function("outer", |req| Ok(call_plus(req.symbol(), "bad", 7)))
        .expect("add outer");
    let bad_runs = add_failing(&session, "bad", || Err(String::from("inner failure")));
    take_failed_lazy_calls();
    let outer = unsafe { as_fn(session.lookup("outer").expect("lookup")) };
    assert_eq!(unsafe { outer(1) }, 7);
    assert_eq!(take_failed_lazy_calls(), 1);
    assert_eq!(bad_runs.load(Ordering::SeqCst), 1);
    assert!(session
        .take_errors()
        .iter()
        .any(|e| e.contains("inner failure")));
}

#[test]
fn racing_threads_all_see_the_failure() {
    let session = Session::new().expect("session");
    let runs = add_failing(&session, "racy_bad", || {
        std::thread::sleep(std::time::Duration::from_millis(5));
        Err(String::from("racy failure"))
    });
    let address = session.lookup("racy_bad").expect("lookup");
    let barrier = std::sync::Barrier::new(4);
    let failures: Vec<(i64, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    take_failed_lazy_calls();
                    barrier.wait();
                    let r = unsafe { as_fn(address)(1) };
                    (r, take_failed_lazy_calls())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(failures, vec![(FAILED_LAZY_CALL_RESULT as i64, 1); 4]);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

static CUSTOM_HANDLER_CALLS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn custom_handler(x: i64) -> i64 {
    CUSTOM_HANDLER_CALLS.fetch_add(1, Ordering::SeqCst);
    -1000 - x
}

#[test]
fn a_custom_handler_receives_the_arguments_and_provides_the_result() {
    let handler = custom_handler as extern "C" fn(i64) -> i64 as usize as u64;
    let session = Session::with_options(SessionOptions {
        lazy_call_error_handler: Some(handler),
        ..SessionOptions::default()
    })
    .expect("session");
    add_failing(&session, "bad", || Err(String::from("nope")));
    let bad = unsafe { as_fn(session.lookup("bad").expect("lookup")) };
    assert_eq!(unsafe { bad(5) }, -1005);
    assert_eq!(CUSTOM_HANDLER_CALLS.load(Ordering::SeqCst), 1);
    assert_eq!(
        take_failed_lazy_calls(),
        0,
        "the default handler was not involved"
    );
}
