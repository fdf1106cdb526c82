// Tests of the graph's drawing rules: sizes within bounds and link paths
// that separate the two directions.
import { describe, expect, it } from 'vitest';
import { linkPath, linkWidth, nodeRadius } from './geometry';

describe('AgentGraph geometry', () => {
  it('sizes nodes and links sub-linearly within bounds', () => {
    expect(nodeRadius(0)).toBe(12);
    expect(nodeRadius(100)).toBe(17);
    expect(nodeRadius(1e9)).toBe(24);
    expect(linkWidth({ messageCount: 1 })).toBeCloseTo(1.8);
    expect(linkWidth({ messageCount: 1e6 })).toBe(9);
  });

  it('trims links to the circle edges', () => {
    expect(linkPath('dependency', { x: 0, y: 0 }, { x: 100, y: 0 }, 10, 10)).toBe('M10,0Q50,0 88,0');
  });

  it('bows a→b and b→a to opposite sides', () => {
    const ab = linkPath('communication', { x: 0, y: 0 }, { x: 100, y: 0 }, 10, 10);
    const ba = linkPath('communication', { x: 100, y: 0 }, { x: 0, y: 0 }, 10, 10);
    const cy = (p: string) => Number(/Q[-\d.]+,([-\d.]+)/.exec(p)![1]);
    expect(cy(ab)).toBe(12);
    expect(cy(ba)).toBe(-12);
    expect(linkPath('coordination', { x: 5, y: 5 }, { x: 5, y: 5 }, 10, 10)).toBe('M5,5'); // degenerate
  });
});
