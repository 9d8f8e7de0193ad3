// Every route of the approval API the hall calls, in one place
// (docs/api/approval.md): the public guide, lookup and rating, and the online
// application under the applicant's SSO session.
import { api, apiUrl, itemsOf, loadMe, newRequestKey, path, upload } from './client.js'

export { loadMe }

// ---- public (no login) ----
// Enabled matters: [{implement_code, name, type, orgcoding, orgname, online, ...}]
export const listPublicMatters = (query) => api.get('public/matters', query).then(itemsOf)
// One matter with materials (template_sha256), limits, fees, guide, online flag.
export const getPublicMatter = (code) => api.get(path`public/matters/${code}`)
// A material's template file. Assumed public route: public/files/:sha256.
export const templateUrl = (sha256) => apiUrl(path`public/files/${sha256}`)
// {number, password} → {case: {...}, history: [...]}; a failure is one generic error.
export const lookupCase = (number, password) =>
  api.post('public/lookup', { number, password }, { quiet: true })
// level 1..5; indicators {overall, efficiency, guide_accuracy, convenience, usability} 1..5.
export const rateCase = (body) => api.post('public/rating', body)

// ---- online application (SSO login) ----
// me: {userid, username, roles, orgs} of the signed-in applicant.
export const uploadFile = (file, onProgress) => upload('applicant/files', file, onProgress)
// body: {implement_code, applicant, materials} → {case, lookup_password}; channel 1 (网上申报).
// key: the form's request key (a retry answers the case already registered)
export const applyOnline = (body, key) =>
  api.post('applicant/cases', body, { auth: true, idempotencyKey: key })
export { newRequestKey }
