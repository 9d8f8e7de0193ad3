// Builds the admin console into dist/, which tongban serves at /sso/admin/
// (config key `[console] dir`). The dev server proxies the API to a running tongban.
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

const backend = process.env.TONGBAN_URL || 'http://127.0.0.1:8080'

export default defineConfig({
  base: '/sso/admin/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The shared chunk is mostly Element Plus (~530 kB before gzip); pages are split out.
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: {
      '/sso/admin/api': backend,
      '/sso/usp.do': backend,
    },
  },
})
