// RateChart renders an SVG path for any series, including an idle one.
import { describe, expect, it } from 'vitest';
import { RateChart } from './RateChart';
import { render } from '../../test/render';

describe('RateChart', () => {
  it('draws a line and shows the last complete second and the peak', () => {
    const html = render(<RateChart series={[0, 4, 9, 3, 1]} />);
    expect(html).toContain('data-testid="rate-chart"');
    expect(html).toMatch(/class="line" d="M[^"]+"/);
    expect(html).toContain('<strong>3</strong>');
    expect(html).toContain('peak 9');
  });

  it('copes with an all-zero series', () => {
    expect(render(<RateChart series={Array(60).fill(0)} />)).toMatch(/class="line" d="M[^"]+"/);
  });
});
