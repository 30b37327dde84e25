/**
 * Hand-written inline-SVG charts. Each is a labelled <figure> with an SVG role="img" and a text
 * alternative, drawn in a fixed viewBox that scales to the card's width. Colours come from CSS classes
 * (series-0…5, tone classes) so the dark theme and contrast live in one stylesheet.
 */
import { h, s } from './dom.ts';
import { factorText } from '../labels.ts';

const W = 560;
const H = 320;
/** Charts that span a whole card use a wider canvas so their text stays the size of the page's text. */
export const WIDE = 960;
const M = { top: 16, right: 18, bottom: 46, left: 56 };

interface Axis {
  min: number;
  max: number;
  label: string;
  ticks?: number[];
  format?: (v: number) => string;
}

function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toFixed(10)));
  return out;
}

/** Plot frame: scales, grid, axes and labels. Returns the scales and the root svg to draw into. */
function frame(
  title: string,
  desc: string,
  x: Axis,
  y: Axis,
  opts: { width?: number; height?: number; xTickLabels?: (v: number) => string } = {},
) {
  const width = opts.width ?? W;
  const height = opts.height ?? H;
  const iw = width - M.left - M.right;
  const ih = height - M.top - M.bottom;
  const sx = (v: number) => M.left + ((v - x.min) / (x.max - x.min || 1)) * iw;
  const sy = (v: number) => M.top + ih - ((v - y.min) / (y.max - y.min || 1)) * ih;
  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': `${title}. ${desc}`,
    class: width === WIDE ? 'chart chart-wide' : 'chart',
    preserveAspectRatio: 'xMidYMid meet',
  });
  svg.append(s('title', null, title));
  const grid = s('g', { class: 'grid' });
  const fx = x.format ?? ((v: number) => String(v));
  const fy = y.format ?? ((v: number) => String(v));
  for (const t of y.ticks ?? niceTicks(y.min, y.max)) {
    grid.append(s('line', { x1: M.left, x2: M.left + iw, y1: sy(t), y2: sy(t) }));
    grid.append(s('text', { x: M.left - 8, y: sy(t) + 4, 'text-anchor': 'end', class: 'tick' }, fy(t)));
  }
  for (const t of x.ticks ?? niceTicks(x.min, x.max)) {
    grid.append(s('line', { x1: sx(t), x2: sx(t), y1: M.top + ih, y2: M.top + ih + 5, class: 'tick-mark' }));
    grid.append(
      s('text', { x: sx(t), y: M.top + ih + 18, 'text-anchor': 'middle', class: 'tick' }, (opts.xTickLabels ?? fx)(t)),
    );
  }
  svg.append(grid);
  svg.append(s('line', { x1: M.left, x2: M.left + iw, y1: M.top + ih, y2: M.top + ih, class: 'axis' }));
  svg.append(s('line', { x1: M.left, x2: M.left, y1: M.top, y2: M.top + ih, class: 'axis' }));
  svg.append(s('text', { x: M.left + iw / 2, y: height - 6, 'text-anchor': 'middle', class: 'axis-label' }, x.label));
  svg.append(
    s(
      'text',
      {
        x: 14,
        y: M.top + ih / 2,
        'text-anchor': 'middle',
        class: 'axis-label',
        transform: `rotate(-90 14 ${M.top + ih / 2})`,
      },
      y.label,
    ),
  );
  return { svg, sx, sy, iw, ih, width, height };
}

function figure(svg: SVGElement, caption: string | null, legend?: { name: string; cls: string }[]): HTMLElement {
  return h(
    'figure',
    { class: 'chart-figure' },
    svg,
    legend && legend.length > 1
      ? h(
          'ul',
          { class: 'legend', 'aria-hidden': 'true' },
          legend.map((l) => h('li', null, h('span', { class: `swatch ${l.cls}` }), l.name)),
        )
      : null,
    caption ? h('figcaption', null, caption) : null,
  );
}

/** SVG path through points, breaking at nulls. */
export function pathOf(
  points: [number, number | null][],
  sx: (v: number) => number,
  sy: (v: number) => number,
  step = false,
): string {
  let d = '';
  let pen = false;
  let prevY = 0;
  for (const [x, y] of points) {
    if (y === null || !Number.isFinite(y)) {
      pen = false;
      continue;
    }
    if (!pen) d += `M${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
    else if (step) d += `H${sx(x).toFixed(1)}V${sy(y).toFixed(1)}`;
    else d += `L${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
    pen = true;
    prevY = y;
  }
  void prevY;
  return d;
}

export interface LineSeries {
  name: string;
  xs: number[];
  ys: (number | null)[];
  dots?: boolean;
  /** Per-point tooltip text. */
  labels?: string[];
}

export function lineChart(o: {
  title: string;
  desc: string;
  x: Axis;
  y: Axis;
  series: LineSeries[];
  diagonal?: boolean;
  caption?: string;
  xTickLabels?: (v: number) => string;
  className?: string;
  wide?: boolean;
}): HTMLElement {
  const f = frame(o.title, o.desc, o.x, o.y, {
    xTickLabels: o.xTickLabels,
    width: o.wide ? WIDE : W,
    height: o.wide ? 300 : H,
  });
  if (o.diagonal) {
    f.svg.append(
      s('line', { x1: f.sx(o.x.min), y1: f.sy(o.y.min), x2: f.sx(o.x.max), y2: f.sy(o.y.max), class: 'reference' }),
    );
  }
  o.series.forEach((se, i) => {
    const pts = se.xs.map((x, j) => [x, se.ys[j]] as [number, number | null]);
    const d = pathOf(pts, f.sx, f.sy);
    if (d)
      f.svg.append(
        s('path', {
          d,
          class: `line series-${i % 6} ${o.className ?? ''}`.trim(),
          'data-series': se.name,
          'data-points': pts.filter((p) => p[1] !== null).length,
        }),
      );
    if (se.dots) {
      const g = s('g', { class: `dots series-${i % 6}` });
      pts.forEach(([x, y], j) => {
        if (y === null) return;
        g.append(
          s('circle', { cx: f.sx(x), cy: f.sy(y), r: 4 }, s('title', null, se.labels?.[j] ?? `${se.name}: ${y}`)),
        );
      });
      f.svg.append(g);
    }
  });
  return figure(
    f.svg,
    o.caption ?? null,
    o.series.map((se, i) => ({ name: se.name, cls: `series-${i % 6}` })),
  );
}

/** Horizontal bars, largest first (feature importance). */
export function barChart(o: {
  title: string;
  desc: string;
  items: { label: string; value: number }[];
  format: (v: number) => string;
  caption?: string;
}): HTMLElement {
  const W = WIDE;
  const rowH = 24;
  const left = 210;
  const right = 70;
  const height = Math.max(60, o.items.length * rowH + 16);
  const svg = s('svg', {
    viewBox: `0 0 ${W} ${height}`,
    role: 'img',
    'aria-label': `${o.title}. ${o.desc}`,
    class: 'chart chart-wide bars',
  });
  svg.append(s('title', null, o.title));
  const max = Math.max(...o.items.map((i) => i.value), 1e-12);
  o.items.forEach((it, i) => {
    const y = 8 + i * rowH;
    const w = ((W - left - right) * it.value) / max;
    svg.append(s('text', { x: left - 8, y: y + 15, 'text-anchor': 'end', class: 'bar-label' }, it.label));
    svg.append(
      s(
        'rect',
        { x: left, y: y + 3, width: Math.max(1, w), height: rowH - 8, rx: 3, class: 'bar' },
        s('title', null, `${it.label}: ${o.format(it.value)}`),
      ),
    );
    svg.append(s('text', { x: left + w + 6, y: y + 15, class: 'bar-value' }, o.format(it.value)));
  });
  return figure(svg, o.caption ?? null);
}

/** 2×2 confusion matrix; cell shade grows with its share of all rows. */
export function confusionMatrix(c: { tp: number; fp: number; tn: number; fn: number }, caption: string): HTMLElement {
  const size = 340;
  const pad = 92;
  const cell = (size - pad) / 2;
  const total = c.tp + c.fp + c.tn + c.fn || 1;
  const svg = s('svg', {
    viewBox: `0 0 ${size} ${size}`,
    role: 'img',
    'aria-label': `Confusion matrix: ${c.tp} true positives, ${c.fp} false positives, ${c.tn} true negatives, ${c.fn} false negatives`,
    class: 'chart confusion',
  });
  svg.append(s('title', null, 'Confusion matrix'));
  const cells: [string, number, number, number, boolean][] = [
    ['TP', c.tp, 0, 0, true],
    ['FN', c.fn, 1, 0, false],
    ['FP', c.fp, 0, 1, false],
    ['TN', c.tn, 1, 1, true],
  ];
  svg.append(s('text', { x: pad + cell, y: 16, 'text-anchor': 'middle', class: 'axis-label' }, 'Predicted'));
  svg.append(s('text', { x: pad + cell / 2, y: pad - 12, 'text-anchor': 'middle', class: 'tick' }, 'fail'));
  svg.append(s('text', { x: pad + cell * 1.5, y: pad - 12, 'text-anchor': 'middle', class: 'tick' }, 'pass'));
  svg.append(
    s(
      'text',
      { x: 16, y: pad + cell, 'text-anchor': 'middle', class: 'axis-label', transform: `rotate(-90 16 ${pad + cell})` },
      'Actual',
    ),
  );
  svg.append(s('text', { x: pad - 10, y: pad + cell / 2 + 4, 'text-anchor': 'end', class: 'tick' }, 'fail'));
  svg.append(s('text', { x: pad - 10, y: pad + cell * 1.5 + 4, 'text-anchor': 'end', class: 'tick' }, 'pass'));
  for (const [name, n, col, row, correct] of cells) {
    const shade = Math.min(5, Math.floor((n / total) * 10));
    const x = pad + col * cell;
    const y = pad + row * cell;
    svg.append(
      s(
        'rect',
        {
          x: x + 2,
          y: y + 2,
          width: cell - 4,
          height: cell - 4,
          rx: 6,
          class: `cm-cell ${correct ? 'cm-ok' : 'cm-bad'} shade-${shade}`,
        },
        s('title', null, `${name}: ${n}`),
      ),
    );
    svg.append(
      s(
        'text',
        { x: x + cell / 2, y: y + cell / 2 - 2, 'text-anchor': 'middle', class: `cm-count shade-text-${shade}` },
        String(n),
      ),
    );
    svg.append(
      s(
        'text',
        { x: x + cell / 2, y: y + cell / 2 + 18, 'text-anchor': 'middle', class: `cm-name shade-text-${shade}` },
        `${name} · ${((n / total) * 100).toFixed(1)} %`,
      ),
    );
  }
  return figure(svg, caption);
}

export interface WaterfallStepIn {
  label: string;
  kind: 'base' | 'factor' | 'rest' | 'final';
  start: number;
  end: number;
  value: number | null;
}

/** Horizontal waterfall: each bar starts where the previous ended; increases are "risk up" coloured. */
export function waterfallChart(
  steps: WaterfallStepIn[],
  unit: string,
  formatEnd: (v: number) => string,
  caption: string,
): HTMLElement {
  const W = WIDE;
  const rowH = 30;
  const left = 260;
  const right = 90;
  const height = steps.length * rowH + 46;
  const lo = Math.min(0, ...steps.flatMap((st) => [st.start, st.end]));
  const hi = Math.max(0, ...steps.flatMap((st) => [st.start, st.end]));
  const span = hi - lo || 1;
  const sx = (v: number) => left + ((v - lo) / span) * (W - left - right);
  const svg = s('svg', {
    viewBox: `0 0 ${W} ${height}`,
    role: 'img',
    'aria-label': `Waterfall from base to final score in ${unit}`,
    class: 'chart chart-wide waterfall',
  });
  svg.append(s('title', null, 'Risk waterfall'));
  svg.append(s('line', { x1: sx(0), x2: sx(0), y1: 4, y2: height - 36, class: 'axis' }));
  steps.forEach((st, i) => {
    const y = 6 + i * rowH;
    const a = sx(Math.min(st.start, st.end));
    const b = sx(Math.max(st.start, st.end));
    const delta = st.end - st.start;
    const cls = st.kind === 'factor' || st.kind === 'rest' ? (delta >= 0 ? 'wf-up' : 'wf-down') : 'wf-total';
    const label = st.kind === 'factor' ? factorText(st.label, st.value) : st.label;
    svg.append(s('text', { x: left - 8, y: y + 19, 'text-anchor': 'end', class: 'bar-label' }, label));
    svg.append(
      s(
        'rect',
        { x: a, y: y + 4, width: Math.max(2, b - a), height: rowH - 10, rx: 2, class: `wf-bar ${cls}` },
        s('title', null, `${label}: ${delta >= 0 ? '+' : ''}${delta.toFixed(3)} ${unit}`),
      ),
    );
    if (i < steps.length - 1 && st.kind !== 'final') {
      svg.append(s('line', { x1: sx(st.end), x2: sx(st.end), y1: y + rowH - 6, y2: y + rowH + 4, class: 'wf-link' }));
    }
    const text =
      st.kind === 'final'
        ? formatEnd(st.end)
        : st.kind === 'base'
          ? st.end.toFixed(2)
          : `${delta >= 0 ? '+' : '−'}${Math.abs(delta).toFixed(2)}`;
    svg.append(s('text', { x: b + 6, y: y + 19, class: 'bar-value' }, text));
  });
  for (const t of niceTicks(lo, hi, 5)) {
    svg.append(
      s('text', { x: sx(t), y: height - 20, 'text-anchor': 'middle', class: 'tick' }, String(Number(t.toFixed(2)))),
    );
  }
  svg.append(
    s('text', { x: (left + W - right) / 2, y: height - 4, 'text-anchor': 'middle', class: 'axis-label' }, unit),
  );
  return figure(svg, caption);
}

export interface StepPoint {
  t: number;
  weight: number;
  action: string;
  label: string;
  /** Each version is its own line (one service's rollouts of v1 and v2 were drawn as one). */
  version?: string | null;
}

/** Canary weight as a step over time, one marker per decision shaped/coloured by its action. */
export function stepChart(title: string, points: StepPoint[], caption: string): HTMLElement {
  const t0 = points[0]?.t ?? 0;
  const t1 = Math.max(points[points.length - 1]?.t ?? 1, t0 + 60_000);
  const span = t1 - t0;
  const minutes = span < 3 * 3600_000;
  const unit = minutes ? 60_000 : 3600_000;
  // Ticks at round minutes/hours since the first decision, not at round epoch milliseconds.
  const ticks = niceTicks(0, span / unit, 6).map((v) => t0 + v * unit);
  const f = frame(
    title,
    `${points.length} decisions; weight ends at ${points[points.length - 1]?.weight ?? 0} %`,
    {
      min: t0,
      max: t1,
      ticks,
      label: minutes ? 'minutes since first decision' : 'hours since first decision',
      format: (v) => String(Number(((v - t0) / unit).toFixed(1))),
    },
    { min: 0, max: 100, label: 'canary weight (%)' },
    { width: WIDE, height: 300 },
  );
  const versions = [...new Set(points.map((p) => p.version ?? '(no version)'))];
  versions.forEach((v, i) => {
    const own = points.filter((p) => (p.version ?? '(no version)') === v);
    const d = pathOf(
      own.map((p) => [p.t, p.weight]),
      f.sx,
      f.sy,
      true,
    );
    f.svg.append(s('path', { d, class: `line series-${i % 6} step`, 'data-series': v, 'data-points': own.length }));
  });
  const g = s('g', { class: 'markers' });
  for (const p of points) {
    const x = f.sx(p.t);
    const y = f.sy(p.weight);
    const cls = `marker action-${p.action}`;
    const tip = s('title', null, p.label);
    if (p.action === 'rollback')
      g.append(
        s('path', { d: `M${x - 6},${y - 6}L${x + 6},${y + 6}M${x + 6},${y - 6}L${x - 6},${y + 6}`, class: cls }, tip),
      );
    else if (p.action === 'promote')
      g.append(s('path', { d: `M${x},${y - 8}L${x + 7},${y + 5}L${x - 7},${y + 5}Z`, class: cls }, tip));
    else if (p.action === 'hold') g.append(s('rect', { x: x - 5, y: y - 5, width: 10, height: 10, class: cls }, tip));
    else g.append(s('circle', { cx: x, cy: y, r: 5, class: cls }, tip));
  }
  f.svg.append(g);
  return h(
    'figure',
    { class: 'chart-figure' },
    f.svg,
    h('ul', { class: 'legend' }, [
      ...(versions.length > 1
        ? versions.map((v, i) => h('li', null, h('span', { class: `swatch series-${i % 6}` }), v))
        : []),
      ...['increase', 'hold', 'promote', 'rollback'].map((a) =>
        h('li', null, h('span', { class: `swatch marker-swatch action-${a}` }), a),
      ),
    ]),
    h('figcaption', null, caption),
  );
}
