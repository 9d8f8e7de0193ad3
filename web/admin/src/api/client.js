// The console's one door to the admin JSON API (docs/api/admin.md): same-origin
// cookies, the CSRF header on every mutation, a redirect to the SSO login on 401,
// and the API's (Chinese) error message shown once in a toast.
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

// Encodes each interpolated value as one path segment: api.get(path`apps/${code}/roles`).
export function path(strings, ...values) {
  return strings.reduce(
    (out, text, i) => out + text + (i < values.length ? encodeURIComponent(values[i]) : ''),
    '',
  )
}

// The exchange's API, beside the console's under the SSO context path.
export const EXCHANGE_API = new URL('../exchange/api/', new URL(import.meta.env.BASE_URL, window.location.origin)).pathname

// base: another API of the platform that takes the same SSO session and CSRF token.
export function apiUrl(relative, query, base = API_BASE) {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') params.append(key, String(value))
  }
  const search = params.toString()
  return base + relative + (search ? `?${search}` : '')
}

// The SSO login page that comes back here; used when a 401 carries no `login`.
function fallbackLoginUrl() {
  const usp = new URL('../usp.do', new URL(import.meta.env.BASE_URL, window.location.origin))
  usp.search = new URLSearchParams({ action: 'ssoLogin', goto: window.location.href }).toString()
  return usp.href
}

async function readBody(response) {
  const type = response.headers.get('Content-Type') || ''
  if (type.includes('application/json')) return response.json()
  return response.text()
}

async function send(method, relative, { query, body, contentType, base } = {}) {
  const headers = { Accept: 'application/json' }
  if (MUTATING.has(method)) headers['X-CSRF-Token'] = csrf
  let payload
  if (body !== undefined) {
    const raw = typeof body === 'string'
    headers['Content-Type'] = contentType || (raw ? 'text/plain' : 'application/json')
    payload = raw ? body : JSON.stringify(body)
  }
  const response = await fetch(apiUrl(relative, query, base), {
    method,
    headers,
    body: payload,
    credentials: 'same-origin',
  })
  return { response, data: await readBody(response) }
}

function toError(response, data) {
  const error = (data && data.error) || {}
  const message = error.message || `HTTP ${response.status} ${response.statusText}`
  return new ApiError(response.status, error.code ?? response.status, message)
}

// quiet: the caller presents the error itself (no toast).
async function request(method, relative, options = {}) {
  if (MUTATING.has(method) && !csrf) await loadMe()
  let { response, data } = await send(method, relative, options)
  if (response.status === 403 && data?.error?.code === CSRF_REFUSED) {
    // The session was renewed elsewhere (e.g. a new login in another tab): fetch
    // its token and try once more.
    await loadMe(true)
    ;({ response, data } = await send(method, relative, options))
  }
  if (response.ok) return data
  if (response.status === 401) {
    window.location.assign(data?.error?.login || fallbackLoginUrl())
    throw new ApiError(401, 401, data?.error?.message || 'login required')
  }
  const error = toError(response, data)
  if (!options.quiet) ElMessage.error({ message: error.message, grouping: true })
  throw error
}

// The signed-in admin; also yields the CSRF token for mutations. Fetched once.
export function loadMe(refresh = false) {
  if (!mePromise || refresh) {
    mePromise = request('GET', 'me', { quiet: true }).then(
      (me) => {
        csrf = me.csrf
        return { userid: me.userid, loginname: me.loginname, username: me.username }
      },
      (error) => {
        mePromise = null
        throw error
      },
    )
  }
  return mePromise
}

export const api = {
  get: (relative, query, options) => request('GET', relative, { ...options, query }),
  post: (relative, body, options) => request('POST', relative, { ...options, body: body ?? {} }),
  put: (relative, body, options) => request('PUT', relative, { ...options, body }),
  del: (relative, options) => request('DELETE', relative, options),
  postCsv: (relative, csv, query, options) =>
    request('POST', relative, {
      ...options,
      query,
      body: csv,
      contentType: 'text/csv; charset=utf-8',
    }),
}
