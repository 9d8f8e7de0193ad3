// Every route of the approval API the workbench calls, in one place, so that a
// renamed field or route is one edit (docs/api/approval.md). Views import these
// functions only, never the transport.
import { api, apiUrl, itemsOf, loadMe, newRequestKey, path, upload } from '@shared/api/client.js'

export { loadMe, itemsOf, newRequestKey }

// ---- the signed-in user ----
// me: {userid, username, roles: ["intake", …], orgs: ["001001", …]}.
export function roleCodes(me) {
  return new Set(me?.roles || [])
}

export function displayName(me) {
  return me?.username || me?.userid || ''
}

// ---- matters (事项) ----
export const listMatters = (query) => api.get('matters', query).then(itemsOf)
export const listIntakeMatters = () => api.get('matters', { for_intake: 1, size: 500 }).then(itemsOf)
export const getMatter = (code) => api.get(path`matters/${code}`)
export const createMatter = (matter) => api.post('matters', matter)
export const updateMatter = (code, matter) => api.put(path`matters/${code}`, matter)
export const setMatterEnabled = (code, enabled) =>
  api.post(path`matters/${code}/enabled`, { enabled })
export const getMatterVersion = (code, version) => api.get(path`matters/${code}/versions/${version}`)
// The matter version a case runs under (its materials list and steps).
export const matterOfCase = (kase) => getMatterVersion(kase.implement_code, kase.matter_version)
// The catalogue file (CSV or Excel) goes as the raw body with its own type.
export const importMatters = (file) => upload('matters/import', file)
export const mattersExportUrl = () => apiUrl('matters/export.xlsx')

// ---- files (content-addressed by SHA-256) ----
// → {sha256, media_type, size}
export const uploadFile = (file, onProgress) => upload('files', file, onProgress)
export const fileUrl = (sha256) => apiUrl(path`files/${sha256}`)

// ---- cases (办件) ----
// body: {implement_code, applicant, materials, channel} → {case, lookup_password};
// key: the form's request key (a retry answers the case already registered)
export const registerCase = (body, key) => api.post('cases', body, { idempotencyKey: key })
export const listCases = (query) => api.get('cases', query).then(itemsOf)
export const getCase = (number) => api.get(path`cases/${number}`)
export const caseHistory = (number) => api.get(path`cases/${number}/history`).then(itemsOf)
// action: accept | refuse | agree | disagree | return | return_to_applicant | transfer |
// request_correction | resubmit | suspend | resume | withdraw | void | complete
export const actOnCase = (number, body) => api.post(path`cases/${number}/actions`, body)
export const noticeUrl = (number, kind) => apiUrl(path`cases/${number}/notices/${kind}`)
export const listTodo = () => api.get('todo', { size: 200 }).then(itemsOf)
export const listDone = () => api.get('done', { size: 200 }).then(itemsOf)

// ---- working calendar ----
export const getCalendar = (division, from, to) =>
  api.get(path`calendar/${division}`, { from, to }).then(itemsOf)
export const setCalendarDay = (division, day, kind, note) =>
  api.put(path`calendar/${division}/${day}`, { kind, note })
export const clearCalendarDay = (division, day) => api.del(path`calendar/${division}/${day}`)
export const importCalendar = (csv) => api.postText('calendar/import', csv, 'text/csv; charset=utf-8')

// ---- preferences: 常用意见 and 过滤事项 ----
// 常用意见 come in the user's order: [{id, text}].
export const listOpinions = () => api.get('preferences/opinions').then(itemsOf)
export const addOpinion = (text) => api.post('preferences/opinions', { text })
// ids: every opinion's id once, in the new order → the list.
export const reorderOpinions = (ids) =>
  api.put('preferences/opinions/order', { ids }).then(itemsOf)
export const deleteOpinion = (id) => api.del(path`preferences/opinions/${id}`).then(itemsOf)
// Replaces an opinion's text in place (same id, same position) → {id, text}.
export const editOpinion = (id, text) => api.put(path`preferences/opinions/${id}`, { text })
// 过滤事项: the implement codes the user hid from the intake list.
export const listHiddenMatters = () => api.get('preferences/hidden-matters').then(itemsOf)
export const setMatterHidden = (code, hidden) =>
  (hidden ? api.put(path`preferences/hidden-matters/${code}`) : api.del(path`preferences/hidden-matters/${code}`))
    .then(itemsOf)

// ---- supervision (电子监察) and statistics ----
// query: kind, org, acknowledged ("true" | "false"), from, to, offset, limit → [Alert]
// Alert: {id, case_number, orgcoding, implement_code, kind, step_code, detail,
// raised_at, acknowledged_by, acknowledged_at}
export const listAlerts = (query) => api.get('alerts', query).then((data) => data?.alerts || [])
export const ackAlert = (id) => api.post(path`alerts/${id}/ack`)
// → [{orgcoding, total, unacknowledged, overdue_case, overdue_step,
//     refusal_without_reason, late_acceptance, late_completion}]
export const alertCounts = (query) => api.get('alerts/counts', query).then((data) => data?.orgs || [])
// query: group (org | matter | month | day), from, to, org, matter → [StatisticsRow]
export const statistics = (query) => api.get('statistics', query).then((data) => data?.rows || [])
export const statisticsExportUrl = (query) => apiUrl('statistics.xlsx', query)
