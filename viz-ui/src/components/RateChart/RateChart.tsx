// Events-per-second sparkline. D3 does only the maths (scales, path strings)
// and React owns the SVG, so there is no second owner of the DOM to keep in
// sync and the chart re-renders like any other component.
import { useMemo } from 'react';
import { area, curveMonotoneX, line, max, scaleLinear } from 'd3';
import './RateChart.css';

export interface RateChartProps {
  /** Events per second, oldest first (feed.ts rateSeries). */
  series: number[];
  width?: number;
  height?: number;
}

export function RateChart({ series, width = 220, height = 40 }: RateChartProps) {
  const { linePath, areaPath, peak } = useMemo(() => {
    const peak = max(series) ?? 0;
    const x = scaleLinear().domain([0, Math.max(1, series.length - 1)]).range([1, width - 1]);
    // Floor of 1 ev/s keeps an idle feed a flat line at the bottom instead
    // of a zero-height domain.
    const y = scaleLinear().domain([0, Math.max(1, peak)]).range([height - 2, 3]);
    const l = line<number>().x((_, i) => x(i)).y((d) => y(d)).curve(curveMonotoneX);
    const a = area<number>().x((_, i) => x(i)).y0(height - 1).y1((d) => y(d)).curve(curveMonotoneX);
    return { linePath: l(series) ?? '', areaPath: a(series) ?? '', peak };
  }, [series, width, height]);

  // The newest bucket is the second still in progress; the one before is
  // the last complete second, a steadier "current" number.
  const current = series.length > 1 ? series[series.length - 2] : (series[0] ?? 0);

  return (
    <figure className="rate-chart" data-testid="rate-chart">
      <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label="events per second, last 60 seconds">
        <path className="area" d={areaPath} />
        <path className="line" d={linePath} />
      </svg>
      <figcaption>
        <strong>{current}</strong> ev/s
        <span className="muted"> · peak {peak} · 60s</span>
      </figcaption>
    </figure>
  );
}
