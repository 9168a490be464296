import { useEffect } from "react";
import { useRevalidator } from "@remix-run/react";

/** Whether a job is still to end: waiting for a slot, or running. */
export const jobInProgress = (status: string) => status === "queued" || status === "running";

/** How a job's state reads on its page. */
export function jobStateLabel(status: string): string {
  switch (status) {
    case "queued":
      return "waiting for a free slot…";
    case "running":
      return "running…";
    case "finished":
      return "finished";
    case "failed":
      return "failed";
    case "cancelled":
      return "cancelled";
    default:
      return "interrupted by a restart";
  }
}

/**
 * Reloads the page's data every second while the job is in progress (or, given several, any of them), so its
 * progress moves without a reload.
 */
export function useRevalidateWhileInProgress(status: string | readonly string[]): void {
  const revalidator = useRevalidator();
  const active = (typeof status === "string" ? [status] : status).some(jobInProgress);
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => {
      if (revalidator.state === "idle") revalidator.revalidate();
    }, 1000);
    return () => clearInterval(timer);
  }, [active, revalidator]);
}
