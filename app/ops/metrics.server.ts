import { statSync } from "node:fs";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Db } from "../../db/open";
import { checkQueueState } from "../reports/check-reports.server";
import { groupCommitStats } from "../webhooks/receive.server";

/** One vendor call, as the clients report it: what the log line and the metrics both take. */
export type VendorCall = { vendor: "plaid" | "cardlytics"; endpoint: string; status: number | "timeout" | "unreachable"; ms: number; requestId: string | null };

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The console's Prometheus metrics. Counters are kept in-process where the work happens (HTTP, webhooks, vendor
 * calls, event ingest, jobs); what the database already knows (the Check queue, the size of the files) is read at
 * scrape time with cheap, indexed queries, so the hot paths pay nothing for it.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({ name: "linkdesk_http_requests_total", help: "HTTP requests answered, by route and status.", labelNames: ["method", "route", "status"], registers: [this.registry] });
  readonly httpDuration = new Histogram({ name: "linkdesk_http_request_duration_seconds", help: "Time to answer an HTTP request (to the end of the response).", labelNames: ["method", "route"], buckets: SECONDS, registers: [this.registry] });
  readonly webhookDeliveries = new Counter({ name: "linkdesk_webhook_deliveries_total", help: "Plaid webhook deliveries received, by verdict and by what the handler made of a new event (redelivery: an event already received).", labelNames: ["verdict", "handling"], registers: [this.registry] });
  readonly vendorCalls = new Counter({ name: "linkdesk_vendor_calls_total", help: "Calls to Plaid and Cardlytics, by vendor, endpoint and status.", labelNames: ["vendor", "endpoint", "status"], registers: [this.registry] });
  readonly vendorDuration = new Histogram({ name: "linkdesk_vendor_call_duration_seconds", help: "Latency of calls to Plaid and Cardlytics.", labelNames: ["vendor", "endpoint"], buckets: SECONDS, registers: [this.registry] });
  readonly ingest = new Counter({ name: "linkdesk_ingest_entries_total", help: "Entries posted to the publisher APIs, by API and outcome.", labelNames: ["api", "outcome"], registers: [this.registry] });
  readonly jobs = new Counter({ name: "linkdesk_background_runs_total", help: "Background work runs, by kind and outcome.", labelNames: ["kind", "outcome"], registers: [this.registry] });

  constructor(db: Db, databasePath: string) {
    collectDefaultMetrics({ register: this.registry, prefix: "linkdesk_process_" });
    const c = db.$client;
    const registry = [this.registry];
    const byStatus = c.prepare("select status, count(*) as n from cra_reports group by status");
    new Gauge({
      name: "linkdesk_check_queue_depth",
      help: "Plaid Check report requests queued and not yet sent.",
      registers: registry,
      collect() {
        this.set(checkQueueState(db).queued);
      },
    });
    new Gauge({
      name: "linkdesk_check_queue_oldest_age_seconds",
      help: "How long the oldest queued Plaid Check request has waited (0 when none).",
      registers: registry,
      collect() {
        const oldest = checkQueueState(db).oldestRequestedAt;
        this.set(oldest ? Math.max(0, (Date.now() - oldest) / 1000) : 0);
      },
    });
    new Gauge({
      name: "linkdesk_check_reports",
      help: "Plaid Check report requests by status: pending ones were sent, ready and failed ones were settled.",
      labelNames: ["status"],
      registers: registry,
      collect() {
        this.reset();
        for (const row of byStatus.all() as { status: string; n: number }[]) this.set({ status: row.status }, row.n);
      },
    });
    new Gauge({
      name: "linkdesk_webhook_group_commits",
      help: "Transactions and deliveries written by the webhook receiver's group commit since start; deliveries / transactions is the average group size.",
      labelNames: ["of"],
      registers: registry,
      collect() {
        const s = groupCommitStats(db);
        this.set({ of: "transactions" }, s.transactions);
        this.set({ of: "deliveries" }, s.deliveries);
      },
    });
    new Gauge({
      name: "linkdesk_database_bytes",
      help: "Size of the SQLite database file and of its write-ahead log.",
      labelNames: ["file"],
      registers: registry,
      collect() {
        for (const [file, path] of [["db", databasePath], ["wal", `${databasePath}-wal`]] as const) {
          try {
            this.set({ file }, statSync(path).size);
          } catch {
            this.set({ file }, 0);
          }
        }
      },
    });
  }

  vendorCall(call: VendorCall): void {
    this.vendorCalls.inc({ vendor: call.vendor, endpoint: call.endpoint, status: String(call.status) });
    this.vendorDuration.observe({ vendor: call.vendor, endpoint: call.endpoint }, call.ms / 1000);
  }
}
