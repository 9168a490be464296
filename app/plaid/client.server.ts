import axios, { type AxiosError, type AxiosResponse, type InternalAxiosRequestConfig } from "axios";
import { Configuration, PlaidApi } from "plaid";
import type { Config } from "../config/env.server";
import type { VendorCall } from "../ops/metrics.server";

// The only code that speaks to Plaid: the official SDK, with the base URL from configuration (Plaid or the simulator).

type Timed = InternalAxiosRequestConfig & { linkdeskStartedAt?: number };

export function createPlaidClient(config: Pick<Config, "plaid">, timeoutMs = 15_000, onCall?: (call: VendorCall) => void): PlaidApi {
  // The SDK's own HTTP client, with a hook that reports every call (endpoint, status, latency, Plaid's request_id).
  const http = axios.create();
  if (onCall) {
    const report = (cfg: Timed | undefined, status: VendorCall["status"], body: unknown) => {
      const endpoint = cfg?.url ? new URL(cfg.url, config.plaid.baseUrl).pathname : "unknown";
      const requestId = body && typeof body === "object" && typeof (body as { request_id?: unknown }).request_id === "string" ? (body as { request_id: string }).request_id : null;
      onCall({ vendor: "plaid", endpoint, status, ms: performance.now() - (cfg?.linkdeskStartedAt ?? performance.now()), requestId });
    };
    http.interceptors.request.use((cfg: Timed) => {
      cfg.linkdeskStartedAt = performance.now();
      return cfg;
    });
    http.interceptors.response.use(
      (res: AxiosResponse) => {
        report(res.config, res.status, res.data);
        return res;
      },
      (error: AxiosError) => {
        const timedOut = error.code === "ECONNABORTED" || error.code === "ETIMEDOUT";
        report(error.config, error.response?.status ?? (timedOut ? "timeout" : "unreachable"), error.response?.data);
        return Promise.reject(error);
      },
    );
  }
  return new PlaidApi(
    new Configuration({
      basePath: config.plaid.baseUrl,
      baseOptions: {
        timeout: timeoutMs,
        headers: { "PLAID-CLIENT-ID": config.plaid.clientId ?? "", "PLAID-SECRET": config.plaid.secret ?? "", "Plaid-Version": "2020-09-14" },
      },
    }),
    undefined,
    http,
  );
}

export type PlaidFailure = {
  httpStatus: number | null;
  errorType: string;
  errorCode: string;
  errorMessage: string;
  displayMessage: string | null;
  requestId: string | null;
};

export class PlaidCallError extends Error {
  constructor(readonly failure: PlaidFailure) {
    super(`${failure.errorCode}: ${failure.errorMessage}`);
    this.name = "PlaidCallError";
  }
}

/** Runs an SDK call and turns any failure into Plaid's own error fields, or a clear network error. */
export async function plaidCall<T>(call: () => Promise<{ data: T }>): Promise<T> {
  try {
    return (await call()).data;
  } catch (error) {
    const e = error as { response?: { status: number; data?: Record<string, unknown> }; code?: string; message?: string };
    const body = e.response?.data;
    if (body && typeof body.error_code === "string") {
      throw new PlaidCallError({
        httpStatus: e.response!.status,
        errorType: String(body.error_type ?? "API_ERROR"),
        errorCode: body.error_code,
        errorMessage: String(body.error_message ?? ""),
        displayMessage: typeof body.display_message === "string" ? body.display_message : null,
        requestId: typeof body.request_id === "string" ? body.request_id : null,
      });
    }
    const timedOut = e.code === "ECONNABORTED" || e.code === "ETIMEDOUT";
    throw new PlaidCallError({
      httpStatus: e.response?.status ?? null,
      errorType: "NETWORK",
      errorCode: timedOut ? "TIMEOUT" : e.response ? `HTTP_${e.response.status}` : "UNREACHABLE",
      errorMessage: timedOut ? "Plaid did not answer in time" : e.message ?? "Plaid could not be reached",
      displayMessage: null,
      requestId: null,
    });
  }
}
