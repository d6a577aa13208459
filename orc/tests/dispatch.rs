//! Dispatch slots: JIT code calls through a slot in host memory, and
//! repointing the slot redirects later calls (the tier-up mechanism).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{add_const, as_fn, call_through_slot};
use lazyjit_orc::Session;

#[test]
fn repointing_a_slot_redirects_calls() {
    let session = Session::new().expect("session");
    let baseline_runs = Arc::new(AtomicUsize::new(0));
    {
        let runs = Arc::clone(&baseline_runs);
        session
            .add_lazy_function("f_baseline", move |req| {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok(add_const(req.symbol(), 1))
            })
            .expect("baseline");
    }
    // The slot starts at the baseline's lazy stub.
    let stub = session.lookup("f_baseline").expect("stub");
    let slot = session.define_dispatch_slot("f_slot", stub).expect("slot");
    assert_eq!(slot.name(), "f_slot");
    assert_eq!(
        session.lookup("f_slot").expect("slot symbol"),
        slot.slot_address()
    );

    // A lazy caller that always goes through the slot.
    session
        .add_lazy_function("caller", |req| {
            Ok(call_through_slot(req.symbol(), "f_slot"))
        })
        .expect("caller");
    let caller = unsafe { as_fn(session.lookup("caller").expect("caller")) };
    assert_eq!(baseline_runs.load(Ordering::SeqCst), 0);
    assert_eq!(
        unsafe { caller(10) },
        11,
        "through the stub: baseline materialized"
    );
    assert_eq!(baseline_runs.load(Ordering::SeqCst), 1);

    // Skip the stub: point the slot at the baseline body itself.
    let body = session.lookup_body("f_baseline").expect("body");
    assert_ne!(body, stub);
    slot.set_target(body);
    assert_eq!(unsafe { caller(10) }, 11);

    // Tier up: an "optimized" version added eagerly, then installed.
    session
        .add_object(&add_const("f_optimized", 1000))
        .expect("optimized");
    let optimized = session.lookup("f_optimized").expect("optimized");
    slot.set_target(optimized);
    assert_eq!(slot.target(), optimized);
    assert_eq!(unsafe { caller(10) }, 1010);

    // And back.
    slot.set_target(stub);
    assert_eq!(unsafe { caller(10) }, 11);
    assert_eq!(baseline_runs.load(Ordering::SeqCst), 1);
    assert!(session.take_errors().is_empty());
}

#[test]
fn concurrent_callers_see_a_repointed_slot() {
    let session = Session::new().expect("session");
    session.add_object(&add_const("one", 1)).expect("one");
    session.add_object(&add_const("two", 2)).expect("two");
    let one = session.lookup("one").expect("one");
    let two = session.lookup("two").expect("two");
    let slot = session.define_dispatch_slot("s", one).expect("slot");
    session
        .add_object(&call_through_slot("via", "s"))
        .expect("via");
    let via = unsafe { as_fn(session.lookup("via").expect("via")) };
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut seen_two = false;
            while !stop.load(Ordering::Acquire) {
                match unsafe { via(0) } {
                    1 => {}
                    2 => seen_two = true,
                    other => panic!("impossible result {other}"),
                }
            }
            seen_two
        });
        std::thread::sleep(std::time::Duration::from_millis(5));
        slot.set_target(two);
        std::thread::sleep(std::time::Duration::from_millis(5));
        stop.store(true, Ordering::Release);
        assert!(
            reader.join().expect("reader"),
            "the reader never saw the new target"
        );
    });
}
