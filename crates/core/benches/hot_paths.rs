//! Micro-benchmarks of the core's per-request work, the paths every request of every run pays
//! for: recording a sample, the scheduler's own bookkeeping around a send, and the merge and
//! results round trip that combine threads, processes and machines.
//!
//! `cargo bench -p flak-core --bench hot_paths`; results and what they told us are in
//! bench/tuning-log.md.

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::cell::RefCell;
    use std::hint::black_box;
    use std::time::Duration;

    use criterion::{BatchSize, Criterion, Throughput};
    use flak_core::sim::{VirtualClock, block_on};
    use flak_core::{
        ErrorKind, Outcome, Plan, Request, RequestError, RequestSpec, Response, Results, Sample,
        Scheduler, Stats, Transport,
    };

    const EPOCH: Duration = Duration::from_secs(1_763_000_000);

    fn ok() -> Outcome {
        Outcome::Response(Response {
            status: 200,
            bytes: 13,
            ttfb: Some(Duration::from_micros(700)),
            connect: None,
        })
    }

    /// Latencies spread over three decades, as a real run's are.
    fn latency(i: u64) -> Duration {
        Duration::from_micros(200 + (i * 7919) % 200_000)
    }

    /// A run of `n` samples, one per millisecond of wall clock, 1 in 100 a failure.
    fn stats_of(n: u64) -> Stats {
        let ok = ok();
        let failed = Outcome::Error(RequestError::new(ErrorKind::Timeout, "timed out"));
        let mut stats = Stats::new(false);
        for i in 0..n {
            stats.record_issued();
            stats.record(&Sample {
                latency: latency(i),
                uncorrected: None,
                end_unix: EPOCH + Duration::from_millis(i),
                outcome: if i % 100 == 99 { &failed } else { &ok },
            });
        }
        stats
    }

    /// Answers at once: what is left is the scheduler's own work per request.
    struct Instant;

    impl Transport for Instant {
        type Session = ();
        fn session(&self, _slot: usize) {}
        fn send(&self, _session: &mut (), _request: &Request<'_>) -> impl Future<Output = Outcome> {
            std::future::ready(ok())
        }
    }

    pub fn record(c: &mut Criterion) {
        let mut group = c.benchmark_group("stats");
        group.throughput(Throughput::Elements(1));
        let outcome = ok();
        let mut stats = Stats::new(false);
        let mut i = 0u64;
        group.bench_function("record one sample", |b| {
            b.iter(|| {
                i += 1;
                stats.record(black_box(&Sample {
                    latency: latency(i),
                    uncorrected: None,
                    end_unix: EPOCH + Duration::from_micros(i * 20),
                    outcome: &outcome,
                }));
            });
        });
        group.finish();
    }

    pub fn merge(c: &mut Criterion) {
        let one = stats_of(100_000);
        let mut group = c.benchmark_group("stats");
        group.bench_function("merge two runs of 100k requests (100 s of series)", |b| {
            b.iter_batched_ref(
                || one.clone(),
                |into| into.merge(black_box(&one)),
                BatchSize::LargeInput,
            );
        });
        let json = Results::of(&one, None).to_json();
        group.bench_function("results file: write (100k requests)", |b| {
            b.iter(|| Results::of(black_box(&one), None).to_json());
        });
        group.bench_function("results file: load (100k requests)", |b| {
            b.iter(|| Results::load(black_box(&json)).map(|(stats, _)| stats.total()));
        });
        group.finish();
    }

    pub fn scheduler(c: &mut Criterion) {
        const N: u64 = 10_000;
        let plan = Plan::builder()
            .request(RequestSpec::get("http://127.0.0.1/").expect("a valid URL"))
            .concurrency(50)
            .requests(N)
            .build()
            .expect("a valid plan");
        let mut group = c.benchmark_group("scheduler");
        group.throughput(Throughput::Elements(N));
        group.bench_function("10k requests, 50 in flight, instant transport", |b| {
            b.iter(|| {
                let clock = VirtualClock::new(EPOCH);
                let stats = RefCell::new(Stats::new(false));
                block_on(&clock, Scheduler::new(&plan, &Instant, &clock).run(&stats));
                assert_eq!(stats.borrow().total(), N);
            });
        });
        group.finish();
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_group!(benches, native::record, native::merge, native::scheduler);
#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
