//! Threads racing on the first call of one lazy function: one materialization.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{add_const, as_fn};
use lazyjit_orc::Session;

const THREADS: usize = 4;

fn race_once(round: usize) {
    let session = Session::new().expect("session");
    let runs = Arc::new(AtomicUsize::new(0));
    {
        let runs = Arc::clone(&runs);
        session
            .add_lazy_function("shared", move |req| {
                runs.fetch_add(1, Ordering::SeqCst);
                // Widen the window in which the other threads arrive.
                std::thread::sleep(Duration::from_millis(5));
                Ok(add_const(req.symbol(), 1000))
            })
            .expect("add");
    }
    let address = session.lookup("shared").expect("lookup");
    let barrier = Arc::new(Barrier::new(THREADS));
    let results: Vec<i64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let barrier = Arc::clone(&barrier);
                s.spawn(move || {
                    let f = unsafe { as_fn(address) };
                    barrier.wait();
                    unsafe { f(t as i64) }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(
        results,
        (0..THREADS as i64).map(|t| t + 1000).collect::<Vec<_>>(),
        "round {round}"
    );
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "round {round}: materializer ran more than once"
    );
    assert_eq!(session.stats().materializer_runs, 1);
    assert!(session.take_errors().is_empty());
}

#[test]
fn racing_first_calls_materialize_once() {
    for round in 0..10 {
        race_once(round);
    }
}

#[test]
fn rayon_tasks_compile_in_parallel_and_call_lazily() {
    use rayon::prelude::*;
    let session = Session::new().expect("session");
    let runs = Arc::new(AtomicUsize::new(0));
    for i in 0..16i64 {
        let runs = Arc::clone(&runs);
        session
            .add_lazy_function(&format!("f{i}"), move |req| {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok(add_const(req.symbol(), i))
            })
            .expect("add");
    }
    let session = &session;
    // Every task calls every function: 16 * 16 calls, 16 materializations.
    let sums: Vec<i64> = (0..16i64)
        .into_par_iter()
        .map(|t| {
            (0..16i64)
                .map(|i| {
                    let f = unsafe {
                        as_fn(
                            session
                                .lookup(&format!("f{}", (i + t) % 16))
                                .expect("lookup"),
                        )
                    };
                    unsafe { f(0) }
                })
                .sum()
        })
        .collect();
    assert!(sums.iter().all(|&s| s == (0..16).sum::<i64>()), "{sums:?}");
    assert_eq!(runs.load(Ordering::SeqCst), 16);
}
