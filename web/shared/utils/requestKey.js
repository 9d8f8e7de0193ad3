// A fresh request key (32 hex digits) for one form's submissions, sent as
// Idempotency-Key: made when the form opens, sent with every retry of it,
// replaced once it has succeeded (a retry after a lost answer then gets the
// first one's result). crypto.getRandomValues works on plain http too
// (randomUUID needs https).
export function newRequestKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
