// Builds the payment console (统一公共支付平台) into dist/, which tongban serves
// at /payment/. The dev server proxies the API and the SSO to a running tongban.
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import { fileURLToPath } from 'node:url'

const backend = process.env.TONGBAN_URL || 'http://127.0.0.1:8080'

export default defineConfig({
  base: '/payment/',
  plugins: [vue()],
  resolve: {
    // web/shared: the staff shell, transport, checks and terms the web apps share.
    alias: { '@shared': fileURLToPath(new URL('../shared', import.meta.url)) },
    // Shared files sit outside this app: their imports resolve to this app's copies.
    dedupe: ['vue', 'vue-i18n', 'vue-router', 'element-plus', '@element-plus/icons-vue'],
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
      '/payment/api': backend,
      '/sso': backend,
    },
  },
})
