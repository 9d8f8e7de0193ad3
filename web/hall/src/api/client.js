// The hall's transport to the approval API (/approval/api/): the public routes
// need nothing; an online application uses the applicant's SSO session
// (applicant/…), with the CSRF token of GET applicant/me on every write and a
// redirect to the SSO login on 401 that comes back to this very page.
// Errors are shown once in a toast unless the caller says quiet.
import { ElMessage } from 'element-plus'

const API_BASE = '/approval/api/'
const MUTATING = new Set(['POST', 'PUT', 'DELETE'])

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }
}

let csrf = null
let mePromise = null

export function path(strings, ...values) {
  return strings.reduce(
    (out, text, i) => out + text + (i < values.length ? encodeURIComponent(values[i]) : ''),
    '',
  )
}

// base: the API's root; the hall speaks to approval (default) and payment.
export function apiUrl(relative, query, base = API_BASE) {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') params.append(key, String(value))
  }
  const search = params.toString()
  return base + relative + (search ? `?${search}` : '')
}

export function ssoUrl(action, extra = {}) {
  const url = new URL('/sso/usp.do', window.location.origin)
  url.search = new URLSearchParams({ action, ...extra }).toString()
  return url.href
}

export function loginUrl() {
  return ssoUrl('ssoLogin', { goto: window.location.href })
}

function toError(status, statusText, data) {
  const error = (data && data.error) || {}
  return new ApiError(status, error.code ?? status, error.message || `HTTP ${status} ${statusText}`)
}

// The API's own login link returns to the hall's front page; this one returns
// to the page the applicant is on (the application form of their matter).
function redirectToLogin(data) {
  window.location.assign(loginUrl())
  return new ApiError(401, 401, data?.error?.message || 'login required')
}

// auth: the call needs the SSO session (a 401 sends the browser to the login).
// idempotencyKey: sent as Idempotency-Key, so that a retry of the same request
// (a lost answer, a second click) is answered with the first one's result.
async function request(method, relative, { query, body, quiet, auth, base, idempotencyKey } = {}) {
  if (auth && MUTATING.has(method) && !csrf) await loadMe()
  const headers = { Accept: 'application/json' }
  if (auth && MUTATING.has(method)) headers['X-CSRF-Token'] = csrf
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const response = await fetch(apiUrl(relative, query, base), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  })
  const type = response.headers.get('Content-Type') || ''
  const data = type.includes('application/json') ? await response.json() : await response.text()
  if (response.ok) return data
  if (response.status === 401 && auth) throw redirectToLogin(data)
  const error = toError(response.status, response.statusText, data)
  if (!quiet) ElMessage.error({ message: error.message, grouping: true })
  throw error
}

// The signed-in applicant; also yields the CSRF token. A 401 goes to the login.
export function loadMe(refresh = false) {
  if (!mePromise || refresh) {
    mePromise = request('GET', 'applicant/me', { quiet: true, auth: true }).then(
      (me) => {
        csrf = me.csrf
        const { csrf: _hidden, ...rest } = me
        return rest
      },
      (error) => {
        mePromise = null
        throw error
      },
    )
  }
  return mePromise
}

// A file as the raw body, with progress (XMLHttpRequest reports it; fetch does not).
export async function upload(relative, file, onProgress) {
  if (!csrf) await loadMe()
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', apiUrl(relative))
    xhr.setRequestHeader('Accept', 'application/json')
    xhr.setRequestHeader('X-CSRF-Token', csrf)
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream')
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && onProgress) onProgress(Math.round((event.loaded * 100) / event.total))
    }
    xhr.onerror = () => reject(new ApiError(0, 0, 'network error'))
    xhr.onload = () => {
      let data = null
      try {
        data = JSON.parse(xhr.responseText)
      } catch {
        data = null
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        if (onProgress) onProgress(100)
        resolve(data)
      } else if (xhr.status === 401) {
        reject(redirectToLogin(data))
      } else {
        const error = toError(xhr.status, xhr.statusText, data)
        ElMessage.error({ message: error.message, grouping: true })
        reject(error)
      }
    }
    xhr.send(file)
  })
}

export const api = {
  get: (relative, query, options) => request('GET', relative, { ...options, query }),
  post: (relative, body, options) => request('POST', relative, { ...options, body: body ?? {} }),
}

export function itemsOf(data) {
  if (Array.isArray(data)) return data
  if (data && Array.isArray(data.items)) return data.items
  return []
}

export { newRequestKey } from '@shared/utils/requestKey.js'
