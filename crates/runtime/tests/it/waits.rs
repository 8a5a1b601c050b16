//! The wait graph on the factory's deadlocks, for every Go release.

use gosleuth_model::{Snapshot, WaitObjectKind};
use gosleuth_runtime::Options;
use gosleuth_testkit as kit;

use crate::support::*;

fn read(go: &str, case: &str) -> Snapshot {
    let dir = cores(go, &[case]);
    let bin = bin(go, case);
    let opts = Options { wait_graph: true };
    gosleuth_runtime::read_core(&bin, &dir.join(format!("{case}.gcore.core")), &opts)
        .unwrap_or_else(|e| panic!("{go} {case}: {e}"))
}

#[test]
fn the_metrics_consumer_sends_into_the_full_channel_it_drains() {
    for go in kit::go_versions() {
        let snap = read(&go, "metricsdeadlock");
        let full: Vec<_> = snap
            .objects
            .iter()
            .filter(|o| o.kind == WaitObjectKind::Channel && o.senders.len() > 1000)
            .collect();
        assert_eq!(
            full.len(),
            1,
            "{go}: one channel with the pile-up of senders"
        );
        let c = full[0];
        let st = c.channel.as_ref().expect("channel state");
        assert!(st.cap > 0 && st.len == st.cap && !st.closed, "{go}: {st:?}");
        assert!(c.receivers.is_empty(), "{go}: nobody receives");
        assert_eq!(
            c.owner.as_deref(),
            Some("(*main.Metrics).inChannel"),
            "{go}"
        );
        // The consumer: queued as a sender, and a frame of it that can
        // receive holds the channel.
        let consumer = snap
            .goroutines
            .iter()
            .find(|g| {
                g.frames
                    .iter()
                    .any(|f| f.function.ends_with("startInChannelConsumer"))
            })
            .expect("consumer goroutine");
        assert!(
            c.senders.contains(&consumer.id),
            "{go}: the consumer is a sender"
        );
        assert!(consumer.waiting_for.contains(&c.addr), "{go}");
        let r = c
            .referenced_by
            .iter()
            .find(|r| r.goroutine == consumer.id && r.receives)
            .unwrap_or_else(|| {
                panic!("{go}: no receiving frame of the consumer refers to the channel")
            });
        assert!(
            consumer.frames[r.frame]
                .function
                .ends_with("startInChannelConsumer"),
            "{go}: {:?}",
            consumer.frames[r.frame]
        );
        // DWARF proves it: a live variable of that frame holds the channel
        // and the function has a variable of its element type; no other
        // goroutine is proved to receive from it (issue #14).
        let proved: Vec<_> = c
            .referenced_by
            .iter()
            .filter(|r| r.proves_receiver())
            .collect();
        assert!(
            proved
                .iter()
                .any(|r| r.goroutine == consumer.id && r.held_in.as_deref() == Some("m.inChannel")),
            "{go}: {:?}",
            c.referenced_by
                .iter()
                .filter(|r| r.goroutine == consumer.id)
                .collect::<Vec<_>>()
        );
        assert!(
            proved.iter().all(|r| r.goroutine == consumer.id),
            "{go}: {proved:?}"
        );
        let in_counts = snap
            .goroutines
            .iter()
            .filter(|g| {
                g.frames
                    .iter()
                    .any(|f| f.function == "main.(*Metrics).CountS")
            })
            .count();
        assert_eq!(c.senders.len(), in_counts + 1, "{go}");
    }
}

#[test]
fn lock_order_waiters_reference_each_others_mutex() {
    for go in kit::go_versions() {
        let snap = read(&go, "lockorder");
        let semas: Vec<_> = snap
            .objects
            .iter()
            .filter(|o| o.kind == WaitObjectKind::Semaphore)
            .collect();
        let waiters: Vec<u64> = semas.iter().flat_map(|o| o.receivers.clone()).collect();
        let transfer = |id: u64| {
            snap.goroutines
                .iter()
                .find(|g| g.id == id)
                .is_some_and(|g| g.frames.iter().any(|f| f.function == "main.transfer"))
        };
        let blocked: Vec<u64> = waiters.iter().copied().filter(|&id| transfer(id)).collect();
        assert_eq!(
            blocked.len(),
            2,
            "{go}: two goroutines blocked in transfer: {semas:?}"
        );
        for s in semas
            .iter()
            .filter(|s| s.receivers.iter().any(|w| blocked.contains(w)))
        {
            let other = blocked
                .iter()
                .find(|b| !s.receivers.contains(b))
                .expect("other");
            assert!(
                s.referenced_by.iter().any(|r| r.goroutine == *other),
                "{go}: goroutine {other} should hold a reference to the mutex at {:#x}: {s:?}",
                s.addr
            );
        }
    }
}
