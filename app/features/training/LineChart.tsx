// A small line chart on uPlot (x = optimizer step). The canvas is decoration for sighted users: the same
// numbers are in the metrics table beside it, so the figure is aria-hidden behind a labelled group.
// Series may have gaps (null), e.g. validation loss only at evaluated steps.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

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
      axes: [{ label: 'step' }, {}],
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
