// A small line chart on uPlot (x = optimizer step). The canvas is decoration for sighted users: the same
// numbers are in the metrics table beside it, so the figure is aria-hidden behind a labelled group.
// Series may have gaps (null), e.g. validation loss only at evaluated steps.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** Tick spacings for the step axis: steps are whole numbers. */
const STEP_TICKS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000];

/** Axis ink and grid lines from the page's theme tokens (app/styles.css), resolved to colours a canvas takes
 *  (a token holds light-dark(), which only CSS resolves), read when the chart is made. */
function axis(el: HTMLElement): uPlot.Axis {
  const resolve = (token: string) => {
    const probe = document.createElement('span');
    probe.style.color = `var(${token})`;
    el.appendChild(probe);
    const c = getComputedStyle(probe).color;
    probe.remove();
    return c;
  };
  const line = resolve('--border');
  return { stroke: resolve('--text-muted'), grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 } };
}

export interface Series { label: string; color: string; values: (number | null)[] }

export function LineChart({ title, x, series, height = 180, logY = false }: {
  title: string;
  x: number[];
  series: Series[];
  height?: number;
  logY?: boolean;
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join('|');

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(240, el.clientWidth || 320), height,
      scales: { x: { time: false }, y: logY ? { distr: 3 } : {} },
      // Axis text and grid in the theme's colours (uPlot draws on a canvas: CSS cannot reach them).
      axes: [{ label: 'step', incrs: STEP_TICKS, ...axis(el) }, axis(el)],
      series: [{ label: 'step' }, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, spanGaps: true, points: { show: x.length < 40 } }))],
      legend: { show: true },
    };
    plot.current = new uPlot(opts, [x, ...series.map((s) => s.values)], el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(240, el.clientWidth), height }));
    resize.observe(el);
    return () => { resize.disconnect(); plot.current?.destroy(); plot.current = null; };
    // Rebuilt only when the set of series changes; data updates go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, height, logY]);

  useEffect(() => {
    plot.current?.setData([x, ...series.map((s) => s.values)]);
  }, [x, series]);

  return (
    <figure className="chart" role="group" aria-label={title}>
      <figcaption>{title}</figcaption>
      <div ref={host} aria-hidden="true" />
    </figure>
  );
}
