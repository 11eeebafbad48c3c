"""Prometheus metrics, in a registry of the app's own (two apps in one process never collide).
With several worker processes, in prometheus_client's multiprocess mode (see app/workers.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from app.workers import forget_dead_workers, shared_metrics_dir

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    multiprocess: bool = False  # values in files shared by the workers (app.workers)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "model_requests_total", "Prediction requests", ["variant", "status"], registry=r
        )
        self.latency = Histogram(
            "model_request_latency_seconds",
            "Prediction latency",
            ["variant"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.fallbacks = Counter(
            "model_fallbacks_total",
            "Requests served by the other alias because the routed one was not loaded",
            ["routed", "served"],
            registry=r,
        )
        self.shed = Counter(
            "model_requests_shed_total",
            "Predictions refused with 503 before their body was read: too many in progress "
            "(limit=predictions) or too many body bytes in progress (limit=body_bytes)",
            ["limit"],
            registry=r,
        )
        self.reloads = Counter(
            "model_reloads_total", "Model reloads", ["alias", "result"], registry=r
        )
        # each worker loads (and reloads) its own models: one series per live worker (`pid`)
        self.version = Gauge(
            "model_version",
            "Version served per alias (0 when not loaded)",
            ["alias"],
            registry=r,
            multiprocess_mode="liveall",
        )
        # pins (app/pins.py): an alert on model_pin_drift == 1 says Git and the registry disagree
        self.pinned_version = Gauge(
            "model_pinned_version",
            "Version pinned in Git per alias (0 when the alias follows the registry)",
            ["alias"],
            registry=r,
            multiprocess_mode="liveall",
        )
        self.registry_version = Gauge(
            "model_registry_version",
            "Version the registry's alias pointed to when last asked (0 when it has no such alias)",
            ["alias"],
            registry=r,
            multiprocess_mode="liveall",
        )
        self.pin_drift = Gauge(
            "model_pin_drift",
            "1 when the alias is pinned and the registry's alias points to another version",
            ["alias"],
            registry=r,
            multiprocess_mode="liveall",
        )
        self.shadow_requests = Counter(
            "model_shadow_requests_total",
            "Shadow comparisons",
            ["shadow", "served", "agreement"],
            registry=r,
        )
        self.shadow_latency = Histogram(
            "model_shadow_latency_seconds",
            "Shadow prediction latency",
            ["shadow"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def exposition(self) -> bytes:
        """The text format: this process's registry, or the sum over every worker's files."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        shared = shared_metrics_dir()
        if shared is not None:  # a worker killed since the last scrape leaves no series behind
            forget_dead_workers(shared, os.getppid())
        merged = CollectorRegistry()
        MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return generate_latest(merged)
