// Every route of the payment API the console calls, in one place
// (docs/api/payment.md "Console" and docs/api/payment-channels.md), so that a
// renamed field or route is one edit. Views import these functions only.
import { api, apiUrl, itemsOf, loadMe, path, upload } from '@shared/api/client.js'

export { loadMe, itemsOf }

// me: {loginname, roles: ["clerk", "finance", …], orgs}
export const hasRole = (roles, ...wanted) => wanted.some((r) => roles.has(r))

// ---- units (执收单位) and their 联系单 ----
export const listUnits = () => api.get('units').then(itemsOf)
export const setUnitState = (entercode, state) => api.put(path`units/${entercode}/state`, { state })
export const setUnitLinks = (entercode, links) => api.put(path`units/${entercode}/links`, links)
export const listApplications = (query) => api.get('applications', query).then(itemsOf)
export const getApplication = (id) => api.get(path`applications/${id}`)
export const createApplication = (unit) => api.post('applications', { unit })
export const updateApplication = (id, unit) => api.put(path`applications/${id}`, { unit })
export const submitApplication = (id) => api.post(path`applications/${id}/submit`)
// opinion: {stage: finance|egov|province, approve, date: YYYYMMDD, text}
export const addOpinion = (id, opinion) => api.post(path`applications/${id}/opinions`, opinion)
export const applicationFormUrl = (id) => apiUrl(path`applications/${id}/form.pdf`)

// ---- charge items ----
export const listItems = () => api.get('items').then(itemsOf)
export const saveItem = (chitcode, item) => api.put(path`items/${chitcode}`, item)

// ---- notices (缴款单) ----
export const searchNotices = (query) => api.get('notices', query)
export const getNotice = (noticeNo) => api.get(path`notices/${noticeNo}`)
export const createNotice = (notice) => api.post('notices', notice)
export const cancelNotice = (noticeNo, reason) => api.post(path`notices/${noticeNo}/cancel`, { reason })
export const receiptUrl = (noticeNo) => apiUrl(path`notices/${noticeNo}/receipt.pdf`)
// A TXT or .xlsx file; checkOnly checks every row without storing any.
export const importNotices = (file, entercode, checkOnly) =>
  upload(`notices/import?${new URLSearchParams({
    entercode,
    format: /\.xlsx$/i.test(file.name) ? 'xlsx' : 'txt',
    ...(checkOnly ? { check_only: '1' } : {}),
  })}`, file)

// ---- reconciliation, refunds, notifications to units ----
export const listRuns = () => api.get('reconcile/runs').then(itemsOf)
export const reconcileFromChannel = (date) => api.post('reconcile/runs', { date })
export const runItems = (id, outcome) => api.get(path`reconcile/runs/${id}/items`, { outcome }).then(itemsOf)
export const reissue = (itemId) => api.post(path`reconcile/items/${itemId}/reissue`)
export const refundsDue = () => api.get('refunds').then(itemsOf)
// refundNo: this refund's own number, made once (newRefundNo) and kept for its
// retries, so the server refunds once however often the request arrives.
export const refund = (payNo, amountFen, reason, refundNo) =>
  api.post('refunds', { pay_no: payNo, amount_fen: amountFen, reason, refund_no: refundNo })
export const newRefundNo = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')
export const settlementUrl = (date) => apiUrl('reports/settlement.xlsx', { date })
export const unitNotifications = (state) => api.get('unit-notifications', { state })
export const retryUnitNotification = (id) => api.post(path`unit-notifications/${id}/retry`)
