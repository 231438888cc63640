//! gpu-service's Prometheus metrics, all under the `doctown_gpu` prefix.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Metric, Registry};

/// Registers a handle to `metric` and returns the metric.
fn registered<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

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
        let r = &mut registry;
        let seconds = || Histogram::new(exponential_buckets(0.001, 2.0, 16));
        Metrics {
            queue_texts: registered(
                r,
                "queue_texts",
                "Texts waiting for the device",
                Gauge::default(),
            ),
            queue_tokens: registered(
                r,
                "queue_tokens",
                "Tokens waiting for the device",
                Gauge::default(),
            ),
            batch_texts: registered(
                r,
                "batch_texts",
                "Texts per forward pass",
                Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            ),
            batch_tokens: registered(
                r,
                "batch_tokens",
                "Padded tokens (texts x longest) per forward pass",
                Histogram::new(exponential_buckets(64.0, 2.0, 12)),
            ),
            queue_seconds: registered(
                r,
                "queue_seconds",
                "Time a request waited before its first forward pass",
                seconds(),
            ),
            inference_seconds: registered(
                r,
                "inference_seconds",
                "Time of one forward pass",
                seconds(),
            ),
            device_busy_seconds: registered(
                r,
                "device_busy_seconds",
                "Time the device spent in forward passes (its rate is the utilisation)",
                Counter::default(),
            ),
            texts: registered(r, "texts", "Texts embedded", Counter::default()),
            tokens: registered(
                r,
                "tokens",
                "Tokens embedded (after truncation)",
                Counter::default(),
            ),
            rejected: registered(
                r,
                "rejected",
                "Requests refused because the queue was full",
                Counter::default(),
            ),
            requests: registered(
                r,
                "requests",
                "HTTP requests by endpoint and status",
                Family::default(),
            ),
            registry,
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
