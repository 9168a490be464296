import { useRevalidator } from "@remix-run/react";
import { useEffect } from "react";

/** Reloads the page's data every few seconds while `active` and the tab is visible: for work that settles later. */
export function useRevalidateWhile(active: boolean, everyMs = 3000) {
  const revalidator = useRevalidator();
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => {
      if (revalidator.state === "idle" && document.visibilityState === "visible") revalidator.revalidate();
    }, everyMs);
    return () => clearInterval(timer);
  }, [active, everyMs, revalidator]);
}
