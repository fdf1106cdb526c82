// Vite + Vitest config. base './' because the collector serves dist/ at its
// root and relative asset URLs keep working behind any prefix. In dev, /api
// and /ws are proxied to a local collector so the UI uses the same
// same-origin URLs it uses in production.
import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

const collector = 'http://127.0.0.1:8080';

export default defineConfig({
  base: './',
  plugins: [react()],
  server: {
    proxy: {
      '/api': collector,
      '/healthz': collector,
      '/ws': { target: collector, ws: true },
    },
  },
  build: { outDir: 'dist', emptyOutDir: true },
  test: {
    environment: 'node',
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
