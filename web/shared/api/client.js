// The transport of a staff web app to its JSON API (`<app base>/api/`: the
// approval workbench and the payment console): same-origin cookies (the SSO
// session), the CSRF header from GET me on every mutation, a redirect to the SSO
// login on 401, the API's error shown once in a toast, and uploads with progress.
import { ElMessage } from 'element-plus'

const API_BASE = `${import.meta.env.BASE_URL}api/`
const MUTATING = new Set(['POST', 'PUT', 'DELETE'])
const CSRF_REFUSED = 4031

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

// Encodes each interpolated value as one path segment: path`cases/${number}/history`.
export function path(strings, ...values) {
  return strings.reduce(
    (out, text, i) => out + text + (i < values.length ? encodeURIComponent(values[i]) : ''),
    '',
  )
}

export function apiUrl(relative, query) {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') params.append(key, String(value))
  }
  const search = params.toString()
  return API_BASE + relative + (search ? `?${search}` : '')
}

// The SSO login page that comes back here; used when a 401 carries no `login`.
export function ssoUrl(action, extra = {}) {
  const url = new URL('/sso/usp.do', window.location.origin)
  url.search = new URLSearchParams({ action, ...extra }).toString()
  return url.href
}

function loginUrl() {
  return ssoUrl('ssoLogin', { goto: window.location.href })
}

async function readBody(response) {
  const type = response.headers.get('Content-Type') || ''
  if (type.includes('application/json')) return response.json()
  return response.text()
}

// idempotencyKey: sent as Idempotency-Key, so that a retry of the same request
// (a lost answer, a second click) is answered with the first one's result.
async function send(method, relative, { query, body, contentType, idempotencyKey } = {}) {
  const headers = { Accept: 'application/json' }
  if (MUTATING.has(method)) headers['X-CSRF-Token'] = csrf
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey
  let payload
  if (body !== undefined) {
    const raw = typeof body === 'string'
    headers['Content-Type'] = contentType || (raw ? 'text/plain' : 'application/json')
    payload = raw ? body : JSON.stringify(body)
  }
  const response = await fetch(apiUrl(relative, query), {
    method,
    headers,
    body: payload,
    credentials: 'same-origin',
  })
  return { response, data: await readBody(response) }
}

// error.detail: the API's whole error object (e.g. an import's bad rows).
function toError(status, statusText, data) {
  const error = (data && data.error) || {}
  const message = error.message || `HTTP ${status} ${statusText}`
  const result = new ApiError(status, error.code ?? status, message)
  result.detail = error
  return result
}

function redirectToLogin(data) {
  window.location.assign(data?.error?.login || loginUrl())
  return new ApiError(401, 401, data?.error?.message || 'login required')
}

// quiet: the caller presents the error itself (no toast).
async function request(method, relative, options = {}) {
  if (MUTATING.has(method) && !csrf) await loadMe()
  let { response, data } = await send(method, relative, options)
  if (response.status === 403 && data?.error?.code === CSRF_REFUSED) {
    // The session was renewed elsewhere: fetch its token and try once more.
    await loadMe(true)
    ;({ response, data } = await send(method, relative, options))
  }
  if (response.ok) return data
  if (response.status === 401) throw redirectToLogin(data)
  const error = toError(response.status, response.statusText, data)
  if (!options.quiet) ElMessage.error({ message: error.message, grouping: true })
  throw error
}

// The signed-in user (user, roles, orgs) and the CSRF token. Fetched once.
export function loadMe(refresh = false) {
  if (!mePromise || refresh) {
    mePromise = request('GET', 'me', { quiet: true }).then(
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

// POST of a file as the raw body, reporting progress (0..100) as it goes;
// fetch() cannot report upload progress, XMLHttpRequest can.
export async function upload(relative, file, onProgress) {
  if (!csrf) await loadMe()
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', apiUrl(relative))
    xhr.setRequestHeader('Accept', 'application/json')
    xhr.setRequestHeader('X-CSRF-Token', csrf)
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream')
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && onProgress) {
        onProgress(Math.round((event.loaded * 100) / event.total))
      }
    }
    xhr.onerror = () => {
      const error = new ApiError(0, 0, 'network error')
      ElMessage.error({ message: error.message, grouping: true })
      reject(error)
    }
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
        return
      }
      if (xhr.status === 401) {
        reject(redirectToLogin(data))
        return
      }
      const error = toError(xhr.status, xhr.statusText, data)
      ElMessage.error({ message: error.message, grouping: true })
      reject(error)
    }
    xhr.send(file)
  })
}

export const api = {
  get: (relative, query, options) => request('GET', relative, { ...options, query }),
  post: (relative, body, options) => request('POST', relative, { ...options, body: body ?? {} }),
  put: (relative, body, options) => request('PUT', relative, { ...options, body }),
  del: (relative, options) => request('DELETE', relative, options),
  postText: (relative, text, contentType, options) =>
    request('POST', relative, { ...options, body: text, contentType }),
}

// Lists may come bare or as {items: [...]}; both read as an array.
export function itemsOf(data) {
  if (Array.isArray(data)) return data
  if (data && Array.isArray(data.items)) return data.items
  return []
}

export { newRequestKey } from '../utils/requestKey.js'
