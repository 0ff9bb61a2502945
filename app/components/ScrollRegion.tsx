// A wide table's sideways scroller: a named region in the tab order, so keyboard users can scroll it too
// (axe-core's scrollable-region-focusable; a table of plain text has nothing else to focus).
import type { ReactNode } from 'react';

export function ScrollRegion({ label, children }: { label: string; children: ReactNode }) {
  return <div className="table-wrap" role="region" aria-label={label} tabIndex={0}>{children}</div>;
}
