//! What the connections did, beside what the requests did: how many were opened and with which
//! protocol, how many streams shared one, how long requests waited for a free stream (client-side
//! head-of-line blocking, told apart from server latency), requests sent again because the
//! server never processed them, and the bytes of redirect hops' own bodies. The transport counts
//! these; they merge by adding, like the rest of [`crate::Stats`].

use litemap::LiteMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectionStats {
    /// The protocol asked for (`http/1.1`, `h2`, `h3`); merged runs that asked differently
    /// keep both, joined by `+`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asked: Option<String>,
    /// Connections opened, by the protocol negotiated on them.
    #[serde(serialize_with = "crate::maps::as_map")]
    pub opened: LiteMap<String, u64>,
    /// The most streams in flight at once on one connection.
    pub peak_streams: u64,
    /// Requests that waited for a free stream (the server's MAX_CONCURRENT_STREAMS), and how
    /// long in all and at most, in microseconds.
    pub stream_waits: u64,
    pub stream_wait_us: u64,
    pub stream_wait_max_us: u64,
    /// Requests sent a second time because the server never processed the first (refused
    /// streams, streams past a GOAWAY, a reused connection closed before any response byte).
    pub retries: u64,
    /// Body bytes of redirect responses, which `bytes` (the final responses') leaves out.
    pub redirect_bytes: u64,
}

impl ConnectionStats {
    pub fn merge(&mut self, other: &ConnectionStats) {
        self.asked = match (self.asked.take(), &other.asked) {
            (Some(a), Some(b)) if a.split('+').any(|p| p == b) => Some(a),
            (Some(a), Some(b)) => Some(format!("{a}+{b}")),
            (a, b) => a.or_else(|| b.clone()),
        };
        for (protocol, n) in &other.opened {
            let c = self.opened.entry(protocol.clone()).or_insert(0);
            *c = c.saturating_add(*n);
        }
        self.peak_streams = self.peak_streams.max(other.peak_streams);
        self.stream_waits = self.stream_waits.saturating_add(other.stream_waits);
        self.stream_wait_us = self.stream_wait_us.saturating_add(other.stream_wait_us);
        self.stream_wait_max_us = self.stream_wait_max_us.max(other.stream_wait_max_us);
        self.retries = self.retries.saturating_add(other.retries);
        self.redirect_bytes = self.redirect_bytes.saturating_add(other.redirect_bytes);
    }

    /// Connections opened, whatever their protocol.
    pub fn total_opened(&self) -> u64 {
        self.opened.values().sum()
    }

    /// Whether anything was counted (a browser run counts nothing here).
    pub fn is_empty(&self) -> bool {
        *self == ConnectionStats::default()
    }

    pub fn record_open(&mut self, protocol: &str) {
        match self.opened.get_mut(protocol) {
            Some(n) => *n += 1,
            None => {
                self.opened.insert(protocol.to_string(), 1);
            }
        }
    }

    pub fn record_wait(&mut self, micros: u64) {
        self.stream_waits += 1;
        self.stream_wait_us = self.stream_wait_us.saturating_add(micros);
        self.stream_wait_max_us = self.stream_wait_max_us.max(micros);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_adds_counts_and_keeps_maxima() {
        let mut a = ConnectionStats {
            asked: Some("h2".into()),
            peak_streams: 10,
            ..Default::default()
        };
        a.record_open("h2");
        a.record_wait(100);
        let mut b = ConnectionStats {
            asked: Some("h2".into()),
            peak_streams: 4,
            retries: 2,
            ..Default::default()
        };
        b.record_open("h2");
        b.record_open("http/1.1");
        b.record_wait(300);
        a.merge(&b);
        assert_eq!(a.total_opened(), 3);
        assert_eq!(a.opened.get("http/1.1"), Some(&1));
        assert_eq!((a.peak_streams, a.retries), (10, 2));
        assert_eq!(
            (a.stream_waits, a.stream_wait_us, a.stream_wait_max_us),
            (2, 400, 300)
        );
        assert_eq!(a.asked.as_deref(), Some("h2"));
        a.merge(&ConnectionStats {
            asked: Some("http/1.1".into()),
            ..Default::default()
        });
        assert_eq!(a.asked.as_deref(), Some("h2+http/1.1"));
    }
}
