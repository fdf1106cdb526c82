// Test helper: render a React element to static HTML in Node and fail if
// React logged anything (key warnings and the like go to console.error).
// Avoids a DOM emulator dependency for what are attribute/markup checks.
import type { ReactElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { expect, vi } from 'vitest';

export function render(el: ReactElement): string {
  const err = vi.spyOn(console, 'error').mockImplementation(() => {});
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  try {
    const html = renderToStaticMarkup(el);
    expect(err.mock.calls).toEqual([]);
    expect(warn.mock.calls).toEqual([]);
    return html;
  } finally {
    err.mockRestore();
    warn.mockRestore();
  }
}

/** Values of one attribute on every tag whose data-testid is `id`. */
export function attrs(html: string, id: string, attr: string): string[] {
  const tags = html.match(new RegExp(`<[^>]*data-testid="${id}"[^>]*>`, 'g')) ?? [];
  return tags.map((t) => new RegExp(`${attr}="([^"]*)"`).exec(t)?.[1] ?? '');
}

/** Text inside the first element with data-testid `id` (no nesting). */
export function text(html: string, id: string): string | undefined {
  return new RegExp(`data-testid="${id}"[^>]*>([^<]*)<`).exec(html)?.[1];
}
