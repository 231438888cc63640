//! gpu-service's Prometheus metrics, all under the `doctown_gpu` prefix.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The prefix of every metric name.
pub const PREFIX: &str = "doctown_gpu";

type Labels = Vec<(&'static str, String)>;

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub queue_texts: Gauge,
    pub queue_tokens: Gauge,
    pub batch_texts: Histogram,
    pub batch_tokens: Histogram,
    pub queue_seconds: Histogram,
    pub inference_seconds: Histogram,
    pub device_busy_seconds: Counter<f64, AtomicU64>,
    pub texts: Counter,
    pub tokens: Counter,
    pub rejected: Counter,
    pub requests: Family<Labels, Counter>,
}

impl Metrics {
    pub fn new(device: &str) -> Self {
        let mut registry = Registry::with_prefix_and_labels(
            PREFIX,
            [("device".into(), device.to_owned().into())].into_iter(),
        );
        let metrics = Metrics {
            queue_texts: Gauge::default(),
            queue_tokens: Gauge::default(),
            batch_texts: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            batch_tokens: Histogram::new(exponential_buckets(64.0, 2.0, 12)),
            queue_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            inference_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            device_busy_seconds: Counter::default(),
            texts: Counter::default(),
            tokens: Counter::default(),
            rejected: Counter::default(),
            requests: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "queue_texts",
            "Texts waiting for the device",
            metrics.queue_texts.clone(),
        );
        registry.register(
            "queue_tokens",
            "Tokens waiting for the device",
            metrics.queue_tokens.clone(),
        );
        registry.register(
            "batch_texts",
            "Texts per forward pass",
            metrics.batch_texts.clone(),
        );
        registry.register(
            "batch_tokens",
            "Padded tokens (texts x longest) per forward pass",
            metrics.batch_tokens.clone(),
        );
        registry.register(
            "queue_seconds",
            "Time a request waited before its first forward pass",
            metrics.queue_seconds.clone(),
        );
        registry.register(
            "inference_seconds",
            "Time of one forward pass",
            metrics.inference_seconds.clone(),
        );
        registry.register(
            "device_busy_seconds",
            "Time the device spent in forward passes (its rate is the utilisation)",
            metrics.device_busy_seconds.clone(),
        );
        registry.register("texts", "Texts embedded", metrics.texts.clone());
        registry.register(
            "tokens",
            "Tokens embedded (after truncation)",
            metrics.tokens.clone(),
        );
        registry.register(
            "rejected",
            "Requests refused because the queue was full",
            metrics.rejected.clone(),
        );
        registry.register(
            "requests",
            "HTTP requests by endpoint and status",
            metrics.requests.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    pub fn request(&self, endpoint: &'static str, status: u16) {
        self.requests
            .get_or_create(&vec![
                ("endpoint", endpoint.to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
