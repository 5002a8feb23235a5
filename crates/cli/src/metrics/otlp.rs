//! `--otlp URL`: the same metrics as `--metrics`, pushed every second with OpenTelemetry's
//! OTLP/HTTP exporter (the `opentelemetry` crates), so any collector takes them. The exporter's
//! HTTP client is hyper on a runtime of its own: the workers never wait for it, and a collector
//! that refuses or hangs costs the run nothing but a line at the end saying how many exports
//! failed and why.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::rt::TokioIo;
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};

use super::collector::BUCKETS;
use super::live::Live;

/// How long one export may take before it counts as failed.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(3);

/// Exports that failed, and why the first did.
#[derive(Debug, Default)]
struct Failures {
    tried: AtomicU64,
    failed: AtomicU64,
    first: Mutex<Option<String>>,
}

impl Failures {
    fn record(&self, outcome: Result<(), String>) {
        self.tried.fetch_add(1, Ordering::Relaxed);
        if let Err(why) = outcome {
            self.failed.fetch_add(1, Ordering::Relaxed);
            self.first
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert(why);
        }
    }
}

#[derive(Debug)]
struct Client {
    runtime: tokio::runtime::Runtime,
    failures: Arc<Failures>,
}

#[async_trait::async_trait]
impl HttpClient for Client {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let sent = self
            .runtime
            .spawn(async move { tokio::time::timeout(EXPORT_TIMEOUT, post(request)).await });
        let result = match sent.await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(format!("no answer within {} s", EXPORT_TIMEOUT.as_secs()).into()),
            Err(e) => Err(e.to_string().into()),
        };
        self.failures.record(match &result {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("the collector answered {}", r.status())),
            Err(e) => Err(e.to_string()),
        });
        result
    }
}

/// One POST over a fresh HTTP/1.1 connection (one a second: keeping it alive buys nothing).
async fn post(request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
    let uri = request.uri().clone();
    let host = uri.host().ok_or("the URL has no host")?.to_string();
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let (mut parts, body) = request.into_parts();
    if !parts.headers.contains_key(hyper::header::HOST) {
        let value = uri.authority().map_or(host.clone(), |a| a.to_string());
        parts.headers.insert(hyper::header::HOST, value.parse()?);
    }
    parts.uri = uri.path_and_query().map_or("/", |p| p.as_str()).parse()?;
    let response = sender
        .send_request(hyper::Request::from_parts(parts, Full::new(body)))
        .await?;
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, 1 << 20).collect().await?.to_bytes();
    Ok(Response::from_parts(parts, body))
}

/// A running exporter. [`Otlp::finish`] sends the exact totals and says what failed.
pub struct Otlp {
    url: String,
    provider: SdkMeterProvider,
    failures: Arc<Failures>,
    stop: Arc<AtomicBool>,
    feeder: Option<std::thread::JoinHandle<()>>,
}

impl Otlp {
    pub fn start(url: &str, live: &Arc<Live>) -> anyhow::Result<Self> {
        let parsed: hyper::Uri = url
            .parse()
            .map_err(|e| anyhow!("--otlp {url}: not a URL ({e})"))?;
        match parsed.scheme_str() {
            Some("http") => {}
            Some("https") => bail!(
                "--otlp {url}: https is not supported; send to a collector on the machine or in the pod (http://127.0.0.1:4318/v1/metrics)"
            ),
            _ => bail!(
                "--otlp {url}: give an http:// URL (OTLP/HTTP, e.g. http://127.0.0.1:4318/v1/metrics)"
            ),
        }
        if parsed.host().is_none() {
            bail!("--otlp {url}: the URL has no host");
        }
        let failures = Arc::new(Failures::default());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("flak-otlp")
            .enable_all()
            .build()
            .context("starting the OTLP runtime")?;
        let client = Client {
            runtime,
            failures: Arc::clone(&failures),
        };
        // A URL without a path means the collector's default one.
        let endpoint = if parsed.path() == "/" {
            format!("{}/v1/metrics", url.trim_end_matches('/'))
        } else {
            url.to_string()
        };
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_endpoint(endpoint)
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| anyhow!("--otlp {url}: {e}"))?;
        let reader = PeriodicReader::builder(exporter)
            .with_interval(Duration::from_secs(1))
            .build();
        let provider = SdkMeterProvider::builder().with_reader(reader).build();
        let feeder = instruments(&provider, live);
        let stop = Arc::new(AtomicBool::new(false));
        let feeder = Some(spawn_feeder(feeder, Arc::clone(&stop)));
        Ok(Self {
            url: url.to_string(),
            provider,
            failures,
            stop,
            feeder,
        })
    }

    /// Records the last latencies, sends the totals once more and stops; a line for stderr
    /// when exports failed.
    pub fn finish(mut self) -> Option<String> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(feeder) = self.feeder.take() {
            let _ = feeder.join();
        }
        let _ = self.provider.shutdown();
        let failed = self.failures.failed.load(Ordering::Relaxed);
        let tried = self.failures.tried.load(Ordering::Relaxed);
        (failed > 0).then(|| {
            let first = self
                .failures
                .first
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
                .unwrap_or_default();
            format!(
                "--otlp {}: {failed} of {tried} exports failed (first: {first}); the run itself was not affected",
                self.url
            )
        })
    }
}

/// Copies new latencies into the OpenTelemetry histogram: what the run recorded since the last
/// look, taken from the run's own HdrHistogram.
struct Feeder {
    live: Arc<Live>,
    histogram: opentelemetry::metrics::Histogram<f64>,
    attributes: Vec<KeyValue>,
    seen: Histogram<u64>,
}

impl Feeder {
    fn feed(&mut self) {
        let Some((now, _)) = self.live.read() else {
            return;
        };
        let mut fresh = now.latency.clone();
        if fresh.subtract(&self.seen).is_err() {
            return;
        }
        for v in fresh.iter_recorded() {
            let seconds = v.value_iterated_to() as f64 / 1e6;
            for _ in 0..v.count_at_value() {
                self.histogram.record(seconds, &self.attributes);
            }
        }
        self.seen = now.latency;
    }
}

fn spawn_feeder(mut feeder: Feeder, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            feeder.feed();
            std::thread::sleep(Duration::from_millis(250));
        }
        feeder.feed();
    })
}

/// The instruments: counters and gauges read the live counts at each export; the histogram is
/// fed by [`Feeder`].
fn instruments(provider: &SdkMeterProvider, live: &Arc<Live>) -> Feeder {
    let meter = provider.meter("flak");
    let attributes: Vec<KeyValue> = live
        .labels
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect();
    let with = |extra: KeyValue| {
        let mut a = attributes.clone();
        a.push(extra);
        a
    };
    let (l, a) = (Arc::clone(live), attributes.clone());
    let _ = meter
        .u64_observable_counter("flak.requests.issued")
        .with_description("Requests handed to the transport (under a scenario: iterations).")
        .with_callback(move |o| {
            if let Some((s, _)) = l.read() {
                o.observe(s.issued, &a);
            }
        })
        .build();
    let (l, by_outcome) = (
        Arc::clone(live),
        ["succeeded", "failed", "cancelled"].map(|o| with(KeyValue::new("outcome", o))),
    );
    let _ = meter
        .u64_observable_counter("flak.requests")
        .with_description("Requests finished, by outcome.")
        .with_callback(move |o| {
            if let Some((s, _)) = l.read() {
                for (n, attrs) in [s.succeeded, s.failed, s.cancelled].iter().zip(&by_outcome) {
                    o.observe(*n, attrs);
                }
            }
        })
        .build();
    let (l, a) = (Arc::clone(live), attributes.clone());
    let _ = meter
        .u64_observable_counter("flak.responses")
        .with_description("Responses, by HTTP status.")
        .with_callback(move |o| {
            if let Some((s, _)) = l.read() {
                for (code, n) in &s.status {
                    let mut attrs = a.clone();
                    attrs.push(KeyValue::new("status", i64::from(*code)));
                    o.observe(*n, &attrs);
                }
            }
        })
        .build();
    let (l, a) = (Arc::clone(live), attributes.clone());
    let _ = meter
        .u64_observable_counter("flak.errors")
        .with_description("Requests that got no complete response, by error kind.")
        .with_callback(move |o| {
            if let Some((s, _)) = l.read() {
                for (kind, n) in &s.errors {
                    let mut attrs = a.clone();
                    attrs.push(KeyValue::new("kind", kind.name()));
                    o.observe(*n, &attrs);
                }
            }
        })
        .build();
    let (l, a) = (Arc::clone(live), attributes.clone());
    let _ = meter
        .i64_observable_gauge("flak.in_flight")
        .with_description("Requests sent and not yet finished.")
        .with_callback(move |o| {
            if let Some((s, _)) = l.read() {
                o.observe(s.in_flight() as i64, &a);
            }
        })
        .build();
    let (l, a) = (Arc::clone(live), attributes.clone());
    let _ = meter
        .u64_observable_counter("flak.requests.asked")
        .with_description("Requests the rate intended to start so far (open model only).")
        .with_callback(move |o| {
            if let Some((_, Some(asked))) = l.read() {
                o.observe(asked, &a);
            }
        })
        .build();
    let histogram = meter
        .f64_histogram("flak.request.duration")
        .with_unit("s")
        .with_description("Latency of finished requests (from the intended start under a rate).")
        .with_boundaries(BUCKETS.to_vec())
        .build();
    Feeder {
        live: Arc::clone(live),
        histogram,
        attributes,
        seen: Histogram::new(3).expect("3 significant figures is valid"),
    }
}
