// Every route of the payment API the hall's payer pages call, in one place
// (docs/api/payment.md "Payer"): a notice by its number, paying it through the
// configured channel, the receipt, and — after the SSO login — the notices whose
// payer is the signed-in user (by ID number or mobile).
import { api, apiUrl, itemsOf, path } from './client.js'

const base = '/payment/api/'

// The notice (payer ID and mobile masked) with amount_due, late_fee_due, payable.
export const getNotice = (noticeNo, options) =>
  api.get(path`public/notices/${noticeNo}`, undefined, { base, quiet: true, ...options })
// Starts a channel order for the amount due now; {pay_url, amount, order}.
// The channel sends the payer back to return_url (a path of this site).
export const startPayment = (noticeNo, returnUrl) =>
  api.post(path`public/notices/${noticeNo}/pay`, { return_url: returnUrl }, { base })
// The 电子缴款凭证 (PDF) of a paid notice; its QR code verifies it.
export const receiptUrl = (noticeNo) => apiUrl(path`public/notices/${noticeNo}/receipt.pdf`, undefined, base)
// Notices whose payer is the signed-in user; a 401 sends the browser to the login.
export const myNotices = () => api.get('payer/notices', undefined, { base, auth: true }).then(itemsOf)
