// Builds the approval workbench (统一审批工作台) into dist/, which tongban serves
// at /approval/. The dev server proxies the API and the SSO to a running tongban.
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

const backend = process.env.TONGBAN_URL || 'http://127.0.0.1:8080'

export default defineConfig({
  base: '/approval/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The shared chunk is mostly Element Plus; pages are split out.
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: {
      '/approval/api': backend,
      '/sso': backend,
    },
  },
})
