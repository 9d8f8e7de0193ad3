// Builds the public hall (网上办事大厅) into dist/, which tongban serves
// at /hall/. Its API is the approval API (/approval/api/, public routes and, for
// online applications, the SSO session); the dev server proxies both.
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import { fileURLToPath } from 'node:url'

const backend = process.env.TONGBAN_URL || 'http://127.0.0.1:8080'

export default defineConfig({
  base: '/hall/',
  plugins: [vue()],
  resolve: {
    // web/shared: components, checks and terms the workbench and the hall share.
    alias: { '@shared': fileURLToPath(new URL('../shared', import.meta.url)) },
    // Shared files sit outside this app: their imports resolve to this app's copies.
    dedupe: ['vue', 'vue-i18n', 'vue-router', 'element-plus'],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The shared chunk is mostly Element Plus; pages are split out.
    chunkSizeWarningLimit: 1200,
  },
  server: {
    fs: { allow: ['..'] },
    proxy: {
      '/approval/api': backend,
      '/sso': backend,
    },
  },
})
