// The transport to the catalogue API (/catalogue/api/, docs/api/catalogue.md):
// same-origin cookies (the SSO session), the CSRF header from GET me on every
// mutation, a redirect to the SSO login on 401, the API's error shown once.
import { ElMessage } from 'element-plus'

const API_BASE = `${import.meta.env.BASE_URL}api/`
let csrf = null
let mePromise = null

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

function url(relative, query) {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') params.append(k, String(v))
  }
  const s = params.toString()
  return API_BASE + relative + (s ? `?${s}` : '')
}

async function call(method, relative, { query, body, quiet } = {}) {
  const headers = { Accept: 'application/json' }
  if (method !== 'GET') {
    if (!csrf) await me()
    headers['X-CSRF-Token'] = csrf
    headers['Content-Type'] = 'application/json'
  }
  const response = await fetch(url(relative, query), {
    method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
  })
  const data = await response.json().catch(() => ({}))
  if (response.status === 401 && data.error) {
    window.location.href = data.error.login ||
      `/sso/usp.do?action=ssoLogin&goto=${encodeURIComponent(window.location.href)}`
    throw new ApiError(401, 401, data.error.message)
  }
  if (!response.ok) {
    const code = data.error ? data.error.code : data.code
    const message = data.error ? data.error.message : data.message || `HTTP ${response.status}`
    if (!quiet) ElMessage.error(message)
    throw new ApiError(response.status, code, message)
  }
  return data
}

export function me() {
  if (!mePromise) {
    mePromise = call('GET', 'me').then((m) => { csrf = m.csrf; return m })
    mePromise.catch(() => { mePromise = null })
  }
  return mePromise
}

export const api = {
  get: (p, query) => call('GET', p, { query }),
  post: (p, body, opts = {}) => call('POST', p, { body: body || {}, ...opts }),
  put: (p, body) => call('PUT', p, { body }),
  del: (p) => call('DELETE', p, {}),
}

export const SHARE_TYPES = { unconditional: '无条件共享', conditional: '有条件共享', none: '不予共享' }
export const SHARE_MODES = { api: '接口', exchange: '数据交换' }
export const OPEN_ATTRS = { open: '无条件开放', conditional: '有条件开放', closed: '不予开放' }
export const APP_STATES = { pending: '待审批', approved: '已批准', refused: '未批准', cancelled: '已撤回' }
export const GRANT_STATES = { active: '有效', expired: '已过期', revoked: '已撤销' }
export const BASE_PATHS = { person: 'person', legal_person: 'legal-person', place: 'place' }

export function fmtTime(ms) {
  if (!ms) return ''
  return new Date(ms).toLocaleString('zh-CN', { hour12: false })
}
