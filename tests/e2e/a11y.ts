import AxeBuilder from "@axe-core/playwright";
import type { Page } from "@playwright/test";

export const LAYOUT_WIDTHS = [1280, 1366, 1920] as const;
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa"];

/** Every axe violation (WCAG 2.1 A and AA) on the page as it stands, one readable line per failing element. */
export async function axeProblems(page: Page, state: string): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).withTags(AXE_TAGS).analyze();
  return violations.flatMap((v) =>
    v.nodes.map((n) => `${state}: axe ${v.id} (${v.impact}) ${n.target.join(" ")}: ${(n.failureSummary ?? v.help).replace(/\s+/g, " ").slice(0, 300)}`),
  );
}

/**
 * What a reader at this width cannot see in full: an element whose content runs past its own box (a card, a cell,
 * a grid column) or is cut off by it, and a scrolling box that a keyboard cannot reach or that has no name.
 * Boxes that scroll on purpose pass when they are keyboard-focusable (tabindex 0) regions with a label; text cut on
 * purpose passes when it ends in an ellipsis.
 */
export async function layoutProblems(page: Page, state: string): Promise<string[]> {
  const found = await page.evaluate(() => {
    const problems: string[] = [];
    const describe = (el: Element) => {
      const id = el.id ? `#${el.id}` : "";
      const testId = el.getAttribute("data-testid") ? `[data-testid=${el.getAttribute("data-testid")}]` : "";
      const label = el.getAttribute("aria-label") ? `[aria-label="${el.getAttribute("aria-label")}"]` : "";
      const cls = typeof el.className === "string" && el.className ? `.${el.className.trim().split(/\s+/).slice(0, 4).join(".")}` : "";
      const text = (el.textContent ?? "").replace(/\s+/g, " ").trim().slice(0, 60);
      return `<${el.tagName.toLowerCase()}${id}${testId}${label}${cls}> "${text}"`;
    };
    const visible = (el: Element) => {
      const rect = el.getBoundingClientRect();
      return rect.width > 1 && rect.height > 1 && el.getClientRects().length > 0;
    };
    for (const el of Array.from(document.body.querySelectorAll("*"))) {
      if (el.closest("svg, script, style, template, [hidden]")) continue;
      const style = getComputedStyle(el);
      if (style.display === "inline" || style.display === "contents" || style.display === "none" || style.visibility === "hidden") continue;
      if (!visible(el)) continue;
      const overflow = el.scrollWidth - el.clientWidth;
      if (overflow <= 1) continue;
      const ox = style.overflowX;
      if (ox === "auto" || ox === "scroll") {
        const focusable = (el as HTMLElement).tabIndex >= 0 && el.hasAttribute("tabindex");
        const named = Boolean(el.getAttribute("aria-label") || el.getAttribute("aria-labelledby"));
        if (!focusable || !named || el.getAttribute("role") !== "region") problems.push(`scrolls ${overflow}px sideways but is not a keyboard-focusable, labelled region: ${describe(el)}`);
      } else if (ox === "hidden" || ox === "clip") {
        if (style.textOverflow !== "ellipsis") problems.push(`cuts off ${overflow}px of its content: ${describe(el)}`);
      } else {
        // Popups (menus, dropdowns) are laid out on top on purpose; only content in the flow of the box counts.
        const right = el.getBoundingClientRect().right - parseFloat(style.borderRightWidth);
        const spill = Array.from(el.querySelectorAll("*")).some((child) => {
          if (child.closest("svg") && child.tagName.toLowerCase() !== "svg") return false;
          for (let up: Element | null = child; up && up !== el; up = up.parentElement) {
            const position = getComputedStyle(up).position;
            if (position === "absolute" || position === "fixed") return false;
          }
          return visible(child) && child.getBoundingClientRect().right > right + 1;
        });
        if (spill) problems.push(`content runs ${overflow}px past its box: ${describe(el)}`);
      }
    }
    // Text whose box runs into its next sibling in the same row (grid and flex items that do not wrap).
    for (const el of Array.from(document.body.querySelectorAll("dd, dt, td, th, li, p, span, time"))) {
      if (el.closest("svg, [hidden]") || !visible(el)) continue;
      const next = el.nextElementSibling;
      if (!next || !visible(next)) continue;
      const a = el.getBoundingClientRect();
      const b = next.getBoundingClientRect();
      const sameRow = a.top < b.bottom - 1 && b.top < a.bottom - 1;
      if (sameRow && a.left < b.left && a.right > b.left + 1) problems.push(`overlaps the next item by ${Math.round(a.right - b.left)}px: ${describe(el)} / ${describe(next)}`);
    }
    // Chart labels: inside the drawing, and at least 11 px on screen.
    for (const text of Array.from(document.querySelectorAll("svg text"))) {
      const svg = (text as SVGTextElement).ownerSVGElement;
      if (!svg || !visible(svg)) continue;
      const box = svg.getBoundingClientRect();
      const r = text.getBoundingClientRect();
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1) problems.push(`chart label cut by its chart: ${describe(text)}`);
      const fontPx = parseFloat(getComputedStyle(text).fontSize) * (box.width / (svg.viewBox.baseVal?.width || box.width));
      if (fontPx < 11) problems.push(`chart label ${fontPx.toFixed(1)}px on screen, too small to read: ${describe(text)}`);
    }
    return problems;
  });
  return found.map((p) => `${state}: ${p}`);
}

/** Axe at the first width, then the layout probe at each width; the viewport is put back to where it was. */
export async function auditPage(page: Page, state: string): Promise<string[]> {
  const original = page.viewportSize();
  const problems: string[] = [];
  for (const [i, width] of LAYOUT_WIDTHS.entries()) {
    await page.setViewportSize({ width, height: 900 });
    if (i === 0) problems.push(...(await axeProblems(page, state)));
    problems.push(...(await layoutProblems(page, `${state} @${width}px`)));
  }
  if (original) await page.setViewportSize(original);
  return problems;
}
