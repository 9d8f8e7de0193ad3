// Entry point of the catalogue pages: Vue, the router, Element Plus (Chinese
// locale), and API failures (already shown in a toast) kept out of the log.
import { createApp } from 'vue'
import ElementPlus from 'element-plus'
import zhCn from 'element-plus/es/locale/lang/zh-cn'
import 'element-plus/dist/index.css'
import './styles.css'
import App from './App.vue'
import { ApiError } from './api.js'
import { router } from './router.js'

const app = createApp(App)
app.use(ElementPlus, { locale: zhCn })
app.use(router)
app.config.errorHandler = (error) => {
  if (error instanceof ApiError) return
  console.error(error)
}
window.addEventListener('unhandledrejection', (event) => {
  if (event.reason instanceof ApiError) event.preventDefault()
})
app.mount('#app')
