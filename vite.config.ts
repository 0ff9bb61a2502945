// Vite config for the studio app. The core in src/ is bundled into the page and the workers alike, except the
// export writers below.
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * The page never makes an export that needs the weights (the engine worker does): the writers those builds in
 * src/export/formats import when called become, in the page's bundle only (plugins here do not apply to the
 * workers' builds), a module that says so. Otherwise they and what they share with the page (the chat
 * templates' jinja) would be hoisted into the page's first load.
 */
const WRITER_STUB = '\0export-writer-in-worker';
const exportWritersInWorkerOnly: Plugin = {
  name: 'export-writers-in-worker-only',
  apply: 'build',
  resolveDynamicImport: (_specifier, importer) => (importer?.includes('/src/export/formats/') ? WRITER_STUB : null),
  load: (id) => (id === WRITER_STUB ? "throw new Error('this export is made in the engine worker');" : null),
};

export default defineConfig({
  plugins: [react(), exportWritersInWorkerOnly],
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true },
});
