//! Sessions created and dropped repeatedly, in every state a lazy function can
//! be in at teardown (stub never looked up, stub looked up, body materialized,
//! materialization failed), so that teardown order mistakes show up here and,
//! run by hand, under valgrind.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{add_const, as_fn, call_plus};
use lazyjit_orc::{take_failed_lazy_calls, Session};

/// Drops on destruction, to prove never-materialized bodies are destroyed.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn one_session(round: usize, dropped: &Arc<AtomicUsize>) {
    let session = Session::new().expect("session");
    extern "C" fn lz_host_id(x: i64) -> i64 {
        x
    }
    session
        .define_host_symbols(&[(
            "lz_host_id",
            lz_host_id as extern "C" fn(i64) -> i64 as usize as u64,
        )])
        .expect("host");
    let slot = session.define_dispatch_slot("slot", 0).expect("slot");
    session.add_object(&add_const("eager", 3)).expect("eager");

    // Never looked up: its materializer is destroyed with the session.
    let guard = DropCounter(Arc::clone(dropped));
    session
        .add_lazy_function("never", move |req| {
            let _keep = &guard;
            Ok(add_const(req.symbol(), 0))
        })
        .expect("never");
    // Looked up, never called.
    let guard = DropCounter(Arc::clone(dropped));
    session
        .add_lazy_function("stub_only", move |req| {
            let _keep = &guard;
            Ok(add_const(req.symbol(), 0))
        })
        .expect("stub_only");
    session.lookup("stub_only").expect("stub");
    // Called: materialized through a chain with a host call.
    session
        .add_lazy_function("called", |req| Ok(call_plus(req.symbol(), "lz_host_id", 1)))
        .expect("called");
    // Fails on its first call.
    session
        .add_lazy_function("fails", |_| Err(String::from("fails on purpose")))
        .expect("fails");

    let called = unsafe { as_fn(session.lookup("called").expect("lookup")) };
    assert_eq!(unsafe { called(round as i64) }, round as i64 + 1);
    let eager = unsafe { as_fn(session.lookup("eager").expect("lookup")) };
    slot.set_target(eager as usize as u64);
    assert_eq!(unsafe { eager(1) }, 4);
    let fails = unsafe { as_fn(session.lookup("fails").expect("lookup")) };
    unsafe { fails(0) };
    assert_eq!(take_failed_lazy_calls(), 1);
}

#[test]
fn sessions_are_created_and_dropped_repeatedly() {
    let dropped = Arc::new(AtomicUsize::new(0));
    for round in 0..20 {
        one_session(round, &dropped);
    }
    // Two never-called materializers per session, each dropped exactly once.
    assert_eq!(dropped.load(Ordering::SeqCst), 40);
}

#[test]
fn an_empty_session_drops_cleanly() {
    for _ in 0..20 {
        drop(Session::new().expect("session"));
    }
}

#[test]
fn sessions_on_several_threads_at_once() {
    std::thread::scope(|s| {
        for t in 0..3 {
            s.spawn(move || {
                let dropped = Arc::new(AtomicUsize::new(0));
                for round in 0..5 {
                    one_session(t * 100 + round, &dropped);
                }
                assert_eq!(dropped.load(Ordering::SeqCst), 10);
            });
        }
    });
}
