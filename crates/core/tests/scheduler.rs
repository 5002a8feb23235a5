//! Deterministic scheduler tests: a scripted transport on a virtual clock. The same file runs
//! natively and, as wasm-bindgen tests, in headless Chromium.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::cell::RefCell;
use std::time::Duration;

use flak_core::sim::{ScriptedTransport, VirtualClock, block_on};
use flak_core::{
    ErrorKind, Load, Order, Outcome, Plan, RequestError, RequestSpec, Response, Scheduler, Shard,
    Stages, Stats, StopSignal, run_plan,
};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const EPOCH: Duration = Duration::from_secs(1_763_000_000);

fn ok() -> Outcome {
    Outcome::Response(Response {
        status: 200,
        bytes: 13,
        ttfb: None,
        connect: None,
    })
}

fn spec(url: &str) -> RequestSpec {
    RequestSpec::get(url).unwrap()
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// Milliseconds a request takes, varied by index so that completions interleave.
fn varied(index: u64) -> Duration {
    ms(5 + (index * 7919) % 45)
}

fn assert_accounted(stats: &Stats) {
    assert_eq!(
        stats.issued(),
        stats.succeeded() + stats.failed() + stats.cancelled(),
        "issued = succeeded + failed + cancelled"
    );
}

#[test]
fn never_more_in_flight_than_the_limit_and_exactly_n_issued() {
    let clock = VirtualClock::new(EPOCH);
    let transport = ScriptedTransport::new(&clock, |r| (varied(r.index), ok()));
    let plan = Plan::builder()
        .request(spec("http://t/"))
        .concurrency(7)
        .requests(1000)
        .build()
        .unwrap();
    let stats = block_on(
        &clock,
        run_plan(&plan, &transport, &clock, StopSignal::new()),
    );
    assert_eq!(transport.peak_in_flight(), 7);
    assert_eq!(transport.received(), 1000);
    assert_eq!(
        (stats.total(), stats.succeeded(), stats.cancelled()),
        (1000, 1000, 0)
    );
    assert_eq!(stats.latency().len(), 1000);
    assert_accounted(&stats);
}

#[test]
fn rate_paces_sends_on_schedule() {
    let clock = VirtualClock::new(EPOCH);
    let transport = ScriptedTransport::new(&clock, |_| (ms(3), ok()));
    let plan = Plan::builder()
        .request(spec("http://t/"))
        .concurrency(10)
        .requests(50)
        .rate(Some(100.0))
        .build()
        .unwrap();
    let stats = block_on(
        &clock,
        run_plan(&plan, &transport, &clock, StopSignal::new()),
    );
    let times = transport.send_times();
    assert_eq!(times.len(), 50);
    for (i, t) in times.iter().enumerate() {
        assert_eq!(*t, ms(10 * i as u64), "request {i} starts at {i}×10 ms");
    }
    // 50 requests intended over 0..490 ms, the last ends at 493 ms.
    assert_eq!(stats.elapsed(), ms(493));
}

#[test]
fn rate_with_duration_issues_rate_times_duration() {
    let clock = VirtualClock::new(EPOCH);
    let transport = ScriptedTransport::new(&clock, |_| (ms(2), ok()));
    let plan = Plan::builder()
        .request(spec("http://t/"))
        .concurrency(5)
        .duration(Duration::from_secs(5))
        .rate(Some(200.0))
        .build()
        .unwrap();
    let stats = block_on(
        &clock,
        run_plan(&plan, &transport, &clock, StopSignal::new()),
    );
    assert_eq!(transport.received(), 1000);
    assert_eq!(stats.total(), 1000);
    assert_eq!(stats.elapsed(), Duration::from_secs(5));
}

#[test]
fn latency_counts_from_the_intended_start_under_a_rate() {
    // 10 req/s, one slot: request 0 stalls 350 ms, the rest take 10 ms. Intended starts are
    // 0, 100, 200, 300, 400 ms; actual starts 0, 350, 360, 370, 400 ms.
    let clock = VirtualClock::new(EPOCH);
    let transport = ScriptedTransport::new(&clock, |r| {
        (if r.index == 0 { ms(350) } else { ms(10) }, ok())
    });
    let plan = Plan::builder()
        .request(spec("http://t/"))
        .concurrency(1)
        .requests(5)
        .rate(Some(10.0))
        .build()
        .unwrap();
    let stats = block_on(
        &clock,
        run_plan(&plan, &transport, &clock, StopSignal::new()),
    );
    assert_eq!(
        transport.send_times(),
        vec![ms(0), ms(350), ms(360), ms(370), ms(400)]
    );
    let values = |h: &hdrhistogram::Histogram<u64>| -> Vec<u64> {
        h.iter_recorded()
            .flat_map(|v| {
                let ms = (h.median_equivalent(v.value_iterated_to()) as f64 / 1e3).round() as u64;
                std::iter::repeat_n(ms, v.count_at_value() as usize)
            })
            .collect()
    };
    assert_eq!(
        values(stats.latency()),
        vec![10, 80, 170, 260, 350],
        "corrected"
    );
    let uncorrected = stats.uncorrected().expect("kept under a rate");
    assert_eq!(
        values(uncorrected),
        vec![10, 10, 10, 10, 350],
        "uncorrected"
    );
}

#[test]
fn shards_merge_to_exactly_one_run() {
    let script = |r: &flak_core::Request<'_>| {
        let outcome = match r.index % 10 {
            0 => Outcome::Response(Response {
                status: 503,
                bytes: 0,
                ttfb: None,
                connect: None,
            }),
            1 => Outcome::Error(RequestError::new(ErrorKind::Reset, "reset")),
            _ => ok(),
        };
        (varied(r.index), outcome)
    };
    let plan = Plan::builder()
        .request(spec("http://t/a/{rand:1-1000}"))
        .concurrency(1000)
        .requests(2003)
        .rate(Some(500.0))
        .build()
        .unwrap();
    let whole = {
        let clock = VirtualClock::new(EPOCH);
        let transport = ScriptedTransport::new(&clock, script);
        block_on(
            &clock,
            run_plan(&plan, &transport, &clock, StopSignal::new()),
        )
    };
    let mut merged = Stats::new(true);
    let mut urls = Vec::new();
    for i in 0..3 {
        let clock = VirtualClock::new(EPOCH);
        let transport = ScriptedTransport::new(&clock, script);
        let stats = RefCell::new(Stats::new(true));
        let scheduler = Scheduler::new(&plan, &transport, &clock).shard(Shard::new(i, 3).unwrap());
        block_on(&clock, scheduler.run(&stats));
        merged.merge(&stats.into_inner());
        urls.extend(transport.urls());
    }
    assert_eq!(
        merged, whole,
        "histograms, counters and time series all equal"
    );
    assert_eq!(whole.total(), 2003);
    assert_eq!(whole.errors()[&ErrorKind::Reset], 201);
    assert_eq!(whole.status_codes()[&503], 201);
    assert!(
        whole.series().len() >= 4,
        "a point per second of a ~4 s run"
    );
    // Template expansion is a function of (seed, index): the shards sent the same URLs.
    let clock = VirtualClock::new(EPOCH);
    let transport = ScriptedTransport::new(&clock, script);
    block_on(
        &clock,
        run_plan(&plan, &transport, &clock, StopSignal::new()),
    );
    let (mut a, mut b) = (urls, transport.urls());
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn abort_counts_in_flight_requests_as_cancelled() {
    let clock = VirtualClock::new(EPOCH);
    let stop = StopSignal::new();
    let trigger = stop.clone();
    let transport = ScriptedTransport::new(&clock, move |r| {
        if r.index == 100 {
            trigger.abort();
        }
        (ms(20), ok())
    });
    let plan = Plan::builder()
        .request(spec("http://t/"))
        .concurrency(8)
        .requests(10_000)
        .build()
        .unwrap();
    let stats = block_on(&clock, run_plan(&plan, &transport, &clock, stop));
    assert_accounted(&stats);
    assert_eq!(stats.issued(), transport.received());
    // Slots that finish in the same poll as the abort see it and issue nothing more.
    assert!(
        (1..=8).contains(&stats.cancelled()),
        "those in flight when aborted"
    );
    assert!(stats.total() < 200);
}

#[test]
fn stop_lets_in_flight_requests_finish() {
    let clock = VirtualClock::new(EPOCH);
    let stop = StopSignal::new();
    let trigger = stop.clone();
    let transport = ScriptedTransport::new(&clock, move |r| {
        if r.index == 50 {
            trigger.stop();
        }
        (ms(20), ok())
    });
    let plan = Plan::builder()
        .request(spec("http://t/"))
        .concurrency(4)
        .requests(1000)
        .build()
        .unwrap();
    let stats = block_on(&clock, run_plan(&plan, &transport, &clock, stop));
    assert_accounted(&stats);
    assert_eq!(stats.cancelled(), 0);
    assert_eq!(stats.succeeded(), transport.received());
}

#[test]
fn duration_ends_the_run_on_time_and_cancels_what_is_in_flight() {
    let clock = VirtualClock::new(EPOCH);
    let transport = ScriptedTransport::new(&clock, |_| (ms(30), ok()));
    let plan = Plan::builder()
        .request(spec("http://t/"))
        .concurrency(5)
        .duration(Duration::from_secs(1))
        .build()
        .unwrap();
    let stats = block_on(
        &clock,
        run_plan(&plan, &transport, &clock, StopSignal::new()),
    );
    assert_eq!(stats.elapsed(), Duration::from_secs(1));
    // 5 slots × 33 round trips of 30 ms finish by 990 ms; the 34th round is cut at 1 s.
    assert_eq!(stats.succeeded(), 5 * 33);
    assert_eq!(stats.cancelled(), 5);
    assert_accounted(&stats);
}

#[test]
fn slow_requests_time_out() {
    let clock = VirtualClock::new(EPOCH);
    let transport = ScriptedTransport::new(&clock, |r| {
        (if r.index % 2 == 0 { ms(5) } else { ms(500) }, ok())
    });
    let plan = Plan::builder()
        .request(spec("http://t/"))
        .concurrency(2)
        .requests(10)
        .timeout(Some(ms(100)))
        .build()
        .unwrap();
    let stats = block_on(
        &clock,
        run_plan(&plan, &transport, &clock, StopSignal::new()),
    );
    assert_eq!(stats.errors()[&ErrorKind::Timeout], 5);
    assert_eq!(stats.succeeded(), 5);
    assert!(stats.error_messages()[&ErrorKind::Timeout].contains("100ms"));
    assert_accounted(&stats);
}

#[test]
fn warmup_requests_are_sent_but_not_measured() {
    let clock = VirtualClock::new(EPOCH);
    let transport = ScriptedTransport::new(&clock, |_| (ms(1), ok()));
    let plan = Plan::builder()
        .request(spec("http://t/"))
        .concurrency(3)
        .requests(20)
        .warmup(10)
        .build()
        .unwrap();
    let stats = block_on(
        &clock,
        run_plan(&plan, &transport, &clock, StopSignal::new()),
    );
    assert_eq!(transport.received(), 30);
    assert_eq!(
        (stats.warmup(), stats.total(), stats.latency().len()),
        (10, 20, 20)
    );
}

#[test]
fn templates_rotate_in_order_or_at_random() {
    let urls = |order: Order, seed: u64| {
        let clock = VirtualClock::new(EPOCH);
        let transport = ScriptedTransport::new(&clock, |_| (ms(1), ok()));
        let plan = Plan::builder()
            .request(spec("http://t/a"))
            .request(spec("http://t/b"))
            .request(spec("http://t/c/{pick:x,y}"))
            .order(order)
            .seed(seed)
            .concurrency(1)
            .requests(9)
            .build()
            .unwrap();
        block_on(
            &clock,
            run_plan(&plan, &transport, &clock, StopSignal::new()),
        );
        transport.urls()
    };
    let rr = urls(Order::RoundRobin, 1);
    assert_eq!(&rr[..2], ["http://t/a", "http://t/b"]);
    assert!(rr[2].starts_with("http://t/c/"));
    assert_eq!(rr[3], "http://t/a");
    assert_eq!(
        urls(Order::Random, 7),
        urls(Order::Random, 7),
        "seeded: repeatable"
    );
    assert_ne!(urls(Order::Random, 7), urls(Order::Random, 8));
}

#[test]
fn fan_out_iterations_wait_for_the_slowest_member_and_keep_each_members_stats() {
    let clock = VirtualClock::new(EPOCH);
    let transport = ScriptedTransport::new(&clock, |r| match r.spec_index {
        0 => (ms(10), ok()),
        1 => (ms(30), ok()),
        2 => (ms(50), ok()),
        _ => (
            ms(5),
            Outcome::Error(RequestError::new(ErrorKind::ConnectRefused, "refused")),
        ),
    });
    let plan = Plan::builder()
        .request(spec("http://t/fast").named("fast"))
        .request(spec("http://t/medium").named("medium"))
        .request(spec("http://t/slow").named("slow"))
        .request(spec("http://t/broken").named("broken"))
        .fan_out(true)
        .concurrency(2)
        .requests(40)
        .build()
        .unwrap();
    let stats = block_on(
        &clock,
        run_plan(&plan, &transport, &clock, StopSignal::new()),
    );
    assert_eq!(transport.received(), 160, "40 iterations × 4 members");
    assert_eq!(
        transport.peak_in_flight(),
        8,
        "2 iterations × 4 members at once"
    );
    assert_eq!(stats.total(), 40);
    let names: Vec<_> = stats.members().iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["fast", "medium", "slow", "broken"]);
    for m in &stats.members()[..3] {
        assert_eq!(
            (m.stats.total(), m.stats.succeeded()),
            (40, 40),
            "{}",
            m.name
        );
    }
    let broken = &stats.members()[3].stats;
    assert_eq!(
        broken.errors()[&ErrorKind::ConnectRefused],
        40,
        "the failure stays with its member"
    );
    // The failing member never cancels the others, and the iteration fails with its error.
    assert_eq!(stats.errors()[&ErrorKind::ConnectRefused], 40);
    assert!(stats.error_messages()[&ErrorKind::ConnectRefused].starts_with("broken: "));
    let slow_p50 = stats.members()[2].stats.latency().value_at_quantile(0.5);
    assert_eq!(slow_p50 / 1000, 50);
    let text = flak_core::report::text(&stats);
    assert!(text.contains("Fan-out members"), "{text}");
}

#[test]
fn fan_out_group_latency_is_the_slowest_member() {
    let clock = VirtualClock::new(EPOCH);
    let transport = ScriptedTransport::new(&clock, |r| (ms(10 * (r.spec_index as u64 + 1)), ok()));
    let plan = Plan::builder()
        .request(spec("http://t/a"))
        .request(spec("http://t/b"))
        .request(spec("http://t/c"))
        .fan_out(true)
        .concurrency(1)
        .requests(10)
        .build()
        .unwrap();
    let stats = block_on(
        &clock,
        run_plan(&plan, &transport, &clock, StopSignal::new()),
    );
    assert_eq!((stats.succeeded(), stats.latency().len()), (10, 10));
    assert_eq!(
        stats.latency().value_at_quantile(0.5) / 1000,
        30,
        "group = slowest member (30 ms)"
    );
    // Natively compressed with flate2; the web app's own round trip is in tests/results_file.rs.
    #[cfg(not(target_arch = "wasm32"))]
    {
        let json = flak_core::Results::of(&stats, Some(&plan)).to_json();
        let (back, _) = flak_core::Results::load(&json).unwrap();
        assert_eq!(back, stats, "members round-trip through the results file");
    }
}

/// Sends per whole second from the series.
fn started_per_second(stats: &Stats) -> Vec<u64> {
    stats.series().values().map(|i| i.started).collect()
}

#[test]
fn rate_stages_send_each_request_where_the_curve_integrates_to_it() {
    let clock = VirtualClock::new(EPOCH);
    let transport = ScriptedTransport::new(&clock, |_| (ms(2), ok()));
    let plan = Plan::builder()
        .request(spec("http://t/"))
        .concurrency(50)
        .load(Load::Rate(Stages::parse("2s:100,2s:400,2s:0").unwrap()))
        .build()
        .unwrap();
    let stages = Stages::parse("2s:100,2s:400,2s:0").unwrap();
    let stats = block_on(
        &clock,
        run_plan(&plan, &transport, &clock, StopSignal::new()),
    );
    assert_eq!(transport.received(), 1000);
    assert_accounted(&stats);
    // Every send at its exact intended moment (the virtual clock never runs late).
    for (i, at) in transport.send_times().iter().enumerate() {
        let want = stages.time_of(i as f64).unwrap();
        assert!(
            at.abs_diff(want) < Duration::from_micros(2),
            "request {i}: {at:?} vs {want:?}"
        );
    }
    assert_eq!(started_per_second(&stats), [25, 75, 175, 325, 300, 100]);
    let g = flak_core::GeneratorSummary::of(stats.generator().unwrap(), stats.issued(), 6.0);
    assert_eq!((g.asked, g.held_back, g.generator_bound), (1000, 0, None));
    assert_eq!(g.lag_max_ms, Some(0.0));
}

#[test]
fn a_shard_of_rate_stages_takes_its_share_of_the_same_moments() {
    let clock = VirtualClock::new(EPOCH);
    let transport = ScriptedTransport::new(&clock, |_| (ms(2), ok()));
    let plan = Plan::builder()
        .request(spec("http://t/"))
        .load(Load::Rate(Stages::parse("1s:100,1s:100").unwrap()))
        .build()
        .unwrap();
    let stats = RefCell::new(Stats::new(true));
    block_on(
        &clock,
        Scheduler::new(&plan, &transport, &clock)
            .shard(Shard::new(1, 3).unwrap())
            .run(&stats),
    );
    // 150 requests in all; shard 1 of 3 takes 1, 4, 7, …
    assert_eq!(transport.received(), 50);
    assert_eq!(stats.borrow().generator().unwrap().asked(), 50);
}

#[test]
fn concurrency_stages_open_and_close_slots_without_cutting_requests_off() {
    let clock = VirtualClock::new(EPOCH);
    let transport = ScriptedTransport::new(&clock, |_| (ms(100), ok()));
    let plan = Plan::builder()
        .request(spec("http://t/"))
        .concurrency(10)
        .load(Load::Concurrency(
            Stages::parse("1s:10,1s:10,1s:0").unwrap(),
        ))
        .build()
        .unwrap();
    let stats = block_on(
        &clock,
        run_plan(&plan, &transport, &clock, StopSignal::new()),
    );
    assert_eq!(transport.peak_in_flight(), 10);
    assert_accounted(&stats);
    assert_eq!(stats.cancelled(), 0, "the ramp down lets requests finish");
    // Slot g starts when the curve reaches g + 1: slot 0 at 0.1 s, slot 9 at 1 s.
    let sends = transport.send_times();
    assert_eq!(sends[0], ms(100));
    // In flight on average: ∫L/1s per second, less the last request of each closing slot.
    let busy: Vec<f64> = stats
        .series()
        .values()
        .map(|i| i.mean_in_flight())
        .collect();
    assert!((busy[0] - 4.5).abs() < 0.6, "{busy:?}");
    assert!((busy[1] - 10.0).abs() < 0.01, "{busy:?}");
    assert!((busy[2] - 5.0).abs() < 0.6, "{busy:?}");
    assert!(
        stats.generator().is_none(),
        "a closed model has no rate to keep up with"
    );
}

#[test]
fn full_slots_are_told_apart_from_a_generator_that_kept_up() {
    let run = |concurrency: u64| {
        let clock = VirtualClock::new(EPOCH);
        let transport = ScriptedTransport::new(&clock, |_| (ms(50), ok()));
        let plan = Plan::builder()
            .request(spec("http://t/"))
            .concurrency(concurrency)
            .rate(Some(100.0))
            .duration(ms(1000))
            .build()
            .unwrap();
        block_on(
            &clock,
            run_plan(&plan, &transport, &clock, StopSignal::new()),
        )
    };
    // Two slots of 50 ms carry 40 a second of the 100 asked.
    let starved = run(2);
    let g = flak_core::GeneratorSummary::of(starved.generator().unwrap(), starved.issued(), 1.0);
    assert_eq!(g.asked, 100);
    assert!(g.held_back > 30, "{g:?}");
    assert!(
        g.generator_bound
            .unwrap()
            .contains("in-flight limit was full")
    );
    let roomy = run(10);
    let g = flak_core::GeneratorSummary::of(roomy.generator().unwrap(), roomy.issued(), 1.0);
    assert_eq!((g.asked, g.held_back, g.generator_bound), (100, 0, None));
}
