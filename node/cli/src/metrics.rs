//! The node's Prometheus metrics (`parajam_*`), served by
//! `substrate-prometheus-endpoint` at `/metrics`; the node's counters
//! ([`parajam_service::Stats`]) are copied in after each slot.

use std::collections::BTreeMap;

use parajam_service::Stats;
use substrate_prometheus_endpoint::{
    register, Counter, CounterVec, Gauge, Histogram, HistogramOpts, Opts, PrometheusError,
    Registry, U64,
};

/// The registered series.
#[derive(Debug, Clone)]
pub struct Metrics {
    best_slot: Gauge<U64>,
    finalized_slot: Gauge<U64>,
    import_seconds: Histogram,
    blocks_authored: Counter<U64>,
    received: Counter<U64>,
    refined: Counter<U64>,
    guaranteed: Counter<U64>,
    accumulated: Counter<U64>,
    rejected: CounterVec<U64>,
    refine_gas: Counter<U64>,
    in_flight: Gauge<U64>,
    heads_advanced: Counter<U64>,
    tickets_made: Counter<U64>,
    tickets_included: Counter<U64>,
    ticket_sealed: Counter<U64>,
    rpc_calls: CounterVec<U64>,
    rejected_seen: BTreeMap<&'static str, u64>,
}

fn counter(registry: &Registry, name: &str, help: &str) -> Result<Counter<U64>, PrometheusError> {
    register(Counter::new(name, help)?, registry)
}

impl Metrics {
    /// Registers the series in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, PrometheusError> {
        Ok(Self {
            best_slot: register(
                Gauge::new("parajam_best_slot", "Slot of the best block")?,
                registry,
            )?,
            finalized_slot: register(
                Gauge::new(
                    "parajam_finalized_slot",
                    "Slot of the latest finalized block",
                )?,
                registry,
            )?,
            import_seconds: register(
                Histogram::with_opts(
                    HistogramOpts::new(
                        "parajam_block_import_seconds",
                        "Time to author, import and store a block",
                    )
                    .buckets(
                        substrate_prometheus_endpoint::exponential_buckets(0.001, 2.0, 14)?,
                    ),
                )?,
                registry,
            )?,
            blocks_authored: counter(
                registry,
                "parajam_blocks_authored_total",
                "Blocks authored by this node",
            )?,
            received: counter(
                registry,
                "parajam_work_packages_received_total",
                "Work packages accepted into the queue",
            )?,
            refined: counter(
                registry,
                "parajam_work_packages_refined_total",
                "Work packages refined into a work report",
            )?,
            guaranteed: counter(
                registry,
                "parajam_work_packages_guaranteed_total",
                "Work reports guaranteed in an authored block",
            )?,
            accumulated: counter(
                registry,
                "parajam_work_packages_accumulated_total",
                "Work reports made available and accumulated",
            )?,
            rejected: register(
                CounterVec::new(
                    Opts::new(
                        "parajam_work_packages_rejected_total",
                        "Work packages refused or dropped, by reason",
                    ),
                    &["reason"],
                )?,
                registry,
            )?,
            refine_gas: counter(
                registry,
                "parajam_refine_gas_total",
                "Gas used by is-authorized and refine",
            )?,
            in_flight: register(
                Gauge::new(
                    "parajam_work_packages_in_flight",
                    "Work packages refined and not yet accumulated",
                )?,
                registry,
            )?,
            heads_advanced: counter(
                registry,
                "parajam_para_heads_advanced_total",
                "Para heads changed by accumulation",
            )?,
            tickets_made: counter(
                registry,
                "parajam_safrole_tickets_made_total",
                "Safrole tickets proved for the validators the node holds",
            )?,
            tickets_included: counter(
                registry,
                "parajam_safrole_tickets_included_total",
                "Safrole tickets in the blocks the node authored",
            )?,
            ticket_sealed: counter(
                registry,
                "parajam_safrole_ticket_sealed_blocks_total",
                "Blocks the node authored sealed by a Safrole ticket",
            )?,
            rpc_calls: register(
                CounterVec::new(
                    Opts::new("parajam_rpc_calls_total", "JSON-RPC calls, by method"),
                    &["method"],
                )?,
                registry,
            )?,
            rejected_seen: BTreeMap::new(),
        })
    }

    /// The RPC call counter, for the server's hook.
    pub fn rpc_calls(&self) -> CounterVec<U64> {
        self.rpc_calls.clone()
    }

    /// One block's authoring time.
    pub fn observe_import(&self, seconds: f64) {
        self.import_seconds.observe(seconds);
    }

    /// Copies the node's counters and the chain's best and finalized slots.
    pub fn update(&mut self, stats: &Stats, best: u32, finalized: u32) {
        fn catch_up(counter: &Counter<U64>, value: u64) {
            counter.inc_by(value.saturating_sub(counter.get()));
        }
        self.best_slot.set(u64::from(best));
        self.finalized_slot.set(u64::from(finalized));
        catch_up(&self.blocks_authored, Stats::get(&stats.blocks_authored));
        catch_up(&self.received, Stats::get(&stats.packages_received));
        catch_up(&self.refined, Stats::get(&stats.packages_refined));
        catch_up(&self.guaranteed, Stats::get(&stats.packages_guaranteed));
        catch_up(&self.accumulated, Stats::get(&stats.packages_accumulated));
        catch_up(&self.refine_gas, Stats::get(&stats.refine_gas));
        catch_up(&self.heads_advanced, Stats::get(&stats.heads_advanced));
        catch_up(&self.tickets_made, Stats::get(&stats.tickets_made));
        catch_up(&self.tickets_included, Stats::get(&stats.tickets_included));
        catch_up(&self.ticket_sealed, Stats::get(&stats.ticket_sealed));
        self.in_flight.set(Stats::get(&stats.in_flight));
        for (reason, count) in stats.rejected() {
            let seen = self.rejected_seen.entry(reason).or_default();
            self.rejected
                .with_label_values(&[reason])
                .inc_by(count.saturating_sub(*seen));
            *seen = count;
        }
    }
}
