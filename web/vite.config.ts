/// <reference types="vitest/config" />
import { fileURLToPath } from 'node:url';

import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const src = (p: string) => fileURLToPath(new URL(`./src/${p}`, import.meta.url));

// The app is served by the Go binary at "/" (web/embed.go) with nested client routes, so base is "/".
// emptyOutDir is off so that dist/.gitkeep, which lets Go build without Node, survives a build;
// stale hashed assets are removed by the cleanDist plugin below instead.
export default defineConfig({
  base: '/',
  build: {
    assetsDir: 'assets',
    chunkSizeWarningLimit: 600,
    emptyOutDir: false,
    outDir: 'dist',
    sourcemap: false,
    target: 'es2022',
  },
  plugins: [
    react(),
    tailwindcss(),
    {
      apply: 'build',
      async buildStart() {
        const { rm } = await import('node:fs/promises');
        await rm(fileURLToPath(new URL('./dist/assets', import.meta.url)), { force: true, recursive: true });
        await rm(fileURLToPath(new URL('./dist/index.html', import.meta.url)), { force: true });
      },
      name: 'cm-clean-dist',
    },
  ],
  resolve: {
    alias: {
      '@components': src('components'),
      '@features': src('features'),
      '@hooks': src('hooks'),
      '@lib': src('lib'),
      '@routes': src('routes'),
      '@services': src('services'),
      '@test': src('test'),
    },
  },
  server: {
    proxy: {
      '/api': process.env.CM_API_URL ?? 'http://127.0.0.1:8080',
    },
  },
  test: {
    coverage: {
      // Line coverage of the app's own code (`npm run cover`; make cover prints the total).
      exclude: ['src/**/*.test.{ts,tsx}', 'src/test/**', 'src/services/api.gen.ts', 'src/main.tsx'],
      include: ['src/**/*.{ts,tsx}'],
      provider: 'v8',
      reporter: ['text-summary', 'json-summary', 'json'],
      reportsDirectory: 'coverage',
    },
    css: false,
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    // The files share a worker's module graph and jsdom instead of each importing the app afresh:
    // the suite runs about five times faster. src/test/setup.ts resets the shared state before each
    // case (docs/adr/0030-shared-test-modules.md).
    isolate: false,
    setupFiles: ['src/test/setup.ts'],
    // A test may wait 5 s for an element (asyncUtilTimeout in setup.ts) on a loaded machine.
    testTimeout: 15_000,
  },
});
