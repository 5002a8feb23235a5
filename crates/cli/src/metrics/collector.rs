//! The run's metrics, encoded at each scrape from the latest [`Live`] counts: requests by
//! outcome, responses by status, errors by kind, in flight, asked (open model), and latency as
//! a Prometheus histogram whose buckets are counted exactly from the run's HdrHistogram.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use super::live::Live;
use std::sync::Arc;

/// Upper bounds of the latency buckets, in seconds: 1-2-5 steps from 100 µs to 60 s, so that
/// `histogram_quantile` lands within a step of the exact percentile at any scale.
pub const BUCKETS: [f64; 18] = [
    0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
    10.0, 20.0, 60.0,
];

#[derive(Debug)]
pub struct RunCollector(pub Arc<Live>);

type Fmt = Result<(), std::fmt::Error>;

fn counter(encoder: &mut DescriptorEncoder<'_>, name: &str, help: &str, v: u64) -> Fmt {
    let mut m = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    m.encode_counter::<NoLabelSet, _, u64>(&v, None)
}

fn counters(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    label: &str,
    values: impl IntoIterator<Item = (String, u64)>,
) -> Fmt {
    let mut m = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (value, n) in values {
        let labels = [(label, value)];
        m.encode_family(&labels)?
            .encode_counter::<NoLabelSet, _, u64>(&n, None)?;
    }
    Ok(())
}

impl Collector for RunCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Fmt {
        let Some((s, asked)) = self.0.read() else {
            return Ok(());
        };
        counter(
            &mut encoder,
            "flak_requests_issued",
            "Requests handed to the transport (under a scenario: iterations).",
            s.issued,
        )?;
        counters(
            &mut encoder,
            "flak_requests",
            "Requests finished, by outcome: succeeded (2xx/3xx), failed (an error or 4xx/5xx), cancelled (cut off by the end or a stop).",
            "outcome",
            [
                ("succeeded".to_string(), s.succeeded),
                ("failed".to_string(), s.failed),
                ("cancelled".to_string(), s.cancelled),
            ],
        )?;
        counters(
            &mut encoder,
            "flak_responses",
            "Responses, by HTTP status.",
            "status",
            s.status.iter().map(|(c, n)| (c.to_string(), *n)),
        )?;
        counters(
            &mut encoder,
            "flak_errors",
            "Requests that got no complete response, by error kind.",
            "kind",
            s.errors.iter().map(|(k, n)| (k.name().to_string(), *n)),
        )?;
        let mut m = encoder.encode_descriptor(
            "flak_in_flight",
            "Requests sent and not yet finished.",
            None,
            MetricType::Gauge,
        )?;
        m.encode_gauge(&(s.in_flight() as i64))?;
        if let Some(asked) = asked {
            counter(
                &mut encoder,
                "flak_requests_asked",
                "Requests the rate (-q or --rate-stages) intended to start so far: compare with flak_requests_issued.",
                asked,
            )?;
        }
        let h = &s.latency;
        let mut below = 0;
        let mut buckets: Vec<(f64, u64)> = BUCKETS
            .iter()
            .map(|&le| {
                let upto = h.count_between(0, (le * 1e6) as u64);
                let n = upto - below;
                below = upto;
                (le, n)
            })
            .collect();
        buckets.push((f64::INFINITY, h.len() - below));
        let sum = h.mean() * h.len() as f64 / 1e6;
        let mut m = encoder.encode_descriptor(
            "flak_request_duration_seconds",
            "Latency of finished requests (from the intended start under a rate, as the report).",
            None,
            MetricType::Histogram,
        )?;
        m.encode_histogram::<NoLabelSet>(sum, h.len(), &buckets, None)
    }
}
