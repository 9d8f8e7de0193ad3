// Every route of the exchange API the console calls (docs/api/exchange.md), in
// one place: the same SSO session and CSRF token as the console's own API.
import { EXCHANGE_API, api, apiUrl, path } from './client.js'

const x = { base: EXCHANGE_API }
const items = (data) => data?.items || []

export const health = () => api.get('health', undefined, x)
export const listNodes = () => api.get('nodes', undefined, x).then(items)
// node: {division, dept_code, dept_name, url, contacts: [{name, phone, email}]}
export const createNode = (node) => api.post('nodes', node, x)
export const listResources = () => api.get('resources', undefined, x).then(items)
export const createTable = (id) => api.post(path`resources/${id}/table`, {}, x)
export const resourceDdl = (id, backend) => api.get(path`resources/${id}/ddl`, { backend }, x)
export const listTasks = () => api.get('tasks', undefined, x).then(items)
export const setTaskEnabled = (id, enabled) =>
  api.post(enabled ? path`tasks/${id}/enable` : path`tasks/${id}/disable`, {}, x)
export const runTask = (id) => api.post(path`tasks/${id}/run`, {}, x)
export const listOrders = () => api.get('orders', undefined, x).then(items)
export const createOrder = (taskId) => api.post(path`tasks/${taskId}/orders`, { submit: true }, x)
export const decideOrder = (id, approve, reason) =>
  api.post(approve ? path`orders/${id}/approve` : path`orders/${id}/refuse`, { reason }, x)
export const orderXlsxUrl = (id) => apiUrl(path`orders/${id}/xlsx`, undefined, EXCHANGE_API)
export const orderPdfUrl = (id) => apiUrl(path`orders/${id}/pdf`, undefined, EXCHANGE_API)
export const listDeadLetters = (state) => api.get('dead-letters', { state }, x).then(items)
export const retryDeadLetters = () => api.post('dead-letters/retry', {}, x)
