// Builds the catalogue and sharing pages (目录与共享服务) into dist/, which
// tongban serves at /catalogue/. The dev server proxies the API and the SSO
// to a running tongban.
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

const backend = process.env.TONGBAN_URL || 'http://127.0.0.1:8080'

export default defineConfig({
  base: '/catalogue/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: {
      '/catalogue/api': backend,
      '/sso': backend,
    },
  },
})
