// Entry point of the payment console: wires Vue, the router, i18n and
// Element Plus, and keeps API failures (already shown to the user) out of the log.
import { createApp } from 'vue'
import { ElMessage } from 'element-plus'
import 'element-plus/dist/index.css'
import '@shared/staff/styles.css'
import App from './App.vue'
import { ApiError } from '@shared/api/client.js'
import { installElement } from '@shared/staff/element.js'
import { i18n } from './i18n/index.js'
import { router } from './router.js'

const app = createApp(App)
installElement(app)
app.use(i18n)
app.use(router)

app.config.errorHandler = (error) => {
  if (error instanceof ApiError) return
  console.error(error)
  ElMessage.error(i18n.global.t('app.unexpected'))
}
window.addEventListener('unhandledrejection', (event) => {
  if (event.reason instanceof ApiError) event.preventDefault()
})

app.mount('#app')
