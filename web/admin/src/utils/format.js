// Display helpers shared by the list pages.

const pad = (n) => String(n).padStart(2, '0')

// Milliseconds since the epoch → "2025-03-01 08:05:09" in the browser's time zone.
export function formatTime(ms) {
  if (!ms) return ''
  const d = new Date(ms)
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  )
}

export function formatClock(ms) {
  const d = new Date(ms)
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`
}

// "省信息中心 (001001)": how an org, app or role is named in pickers and lists.
export function nameWithCode(name, code) {
  return `${name} (${code})`
}

// "a\nb\n\n c " → ["a", "b", "c"]: the one-per-line textareas of the app form.
export function splitLines(text) {
  return (text || '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
}
