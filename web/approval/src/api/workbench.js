// Every route of the approval API the workbench calls, in one place, so that a
// renamed field or route is one edit (docs/api/approval.md). Views import these
// functions only, never the transport.
import { api, apiUrl, itemsOf, loadMe, path, upload } from './client.js'

export { loadMe, itemsOf }

// ---- the signed-in user ----
// me: {user: {userid, loginname, username, orgcoding}, roles, orgs}. A role may
// come as "intake" or as {rolecode|code, orgcoding}; both read as its code.
export function roleCodes(me) {
  return new Set(
    (me?.roles || []).map((r) => (typeof r === 'string' ? r : r.rolecode || r.code || r.role)),
  )
}

export function displayName(me) {
  const user = me?.user || me || {}
  return user.username || user.loginname || ''
}

// ---- matters (事项) ----
export const listMatters = (query) => api.get('matters', query).then(itemsOf)
export const listIntakeMatters = () => api.get('matters', { for_intake: 1 }).then(itemsOf)
export const getMatter = (code) =>
  api.get('matters', { code }).then((list) => itemsOf(list).find((m) => m.implement_code === code))
export const createMatter = (matter) => api.post('matters', matter)
export const updateMatter = (code, matter) => api.put(path`matters/${code}`, matter)
export const setMatterEnabled = (code, enabled) =>
  api.post(path`matters/${code}/enabled`, { enabled })
export const getMatterVersion = (code, version) => api.get(path`matters/${code}/versions/${version}`)
// The catalogue file (CSV or Excel) goes as the raw body with its own type.
export const importMatters = (file) => upload('matters/import', file)
export const mattersExportUrl = () => apiUrl('matters/export.xlsx')

// ---- files (content-addressed by SHA-256) ----
// → {sha256, media_type, size}
export const uploadFile = (file, onProgress) => upload('files', file, onProgress)
export const fileUrl = (sha256) => apiUrl(path`files/${sha256}`)

// ---- cases (办件) ----
// body: {implement_code, applicant, materials, channel} → {case, lookup_password}
export const registerCase = (body) => api.post('cases', body)
export const listCases = (query) => api.get('cases', query).then(itemsOf)
export const getCase = (number) => api.get(path`cases/${number}`)
export const caseHistory = (number) => api.get(path`cases/${number}/history`).then(itemsOf)
// action: accept | refuse | agree | disagree | return | return_to_applicant | transfer |
// request_correction | resubmit | suspend | resume | withdraw | void | complete
export const actOnCase = (number, body) => api.post(path`cases/${number}/actions`, body)
export const noticeUrl = (number, kind) => apiUrl(path`cases/${number}/notices/${kind}`)
export const listTodo = () => api.get('todo').then(itemsOf)
export const listDone = () => api.get('done').then(itemsOf)

// ---- working calendar ----
export const getCalendar = (division, from, to) =>
  api.get(path`calendar/${division}`, { from, to }).then(itemsOf)
export const setCalendarDay = (division, day, kind, note) =>
  api.put(path`calendar/${division}/${day}`, { kind, note })
export const clearCalendarDay = (division, day) => api.del(path`calendar/${division}/${day}`)
export const importCalendar = (csv) => api.postText('calendar/import', csv, 'text/csv; charset=utf-8')

// ---- preferences: 常用意见 and 过滤事项 ----
export const listOpinions = () => api.get('opinions').then(itemsOf)
export const addOpinion = (text) => api.post('opinions', { text })
export const updateOpinion = (id, fields) => api.put(path`opinions/${id}`, fields)
export const deleteOpinion = (id) => api.del(path`opinions/${id}`)
export const getFilteredMatters = () =>
  api.get('filtered-matters').then((data) => (Array.isArray(data) ? data : data?.codes || itemsOf(data)))
export const setFilteredMatters = (codes) => api.put('filtered-matters', { codes })

// ---- supervision (电子监察) and statistics ----
export const listAlerts = (query) => api.get('alerts', query).then(itemsOf)
export const ackAlert = (id) => api.post(path`alerts/${id}/ack`)
export const alertCounts = () => api.get('alerts/counts')
export const statistics = (query) => api.get('statistics', query).then(itemsOf)
export const statisticsExportUrl = (query) => apiUrl('statistics.xlsx', query)
