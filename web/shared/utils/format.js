// Display helpers shared by the workbench and the hall.

const pad = (n) => String(n).padStart(2, '0')

// Milliseconds since the epoch → "2025-03-01 08:05" in the browser's time zone.
export function formatTime(ms) {
  if (!ms) return ''
  const d = new Date(ms)
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}`
  )
}

export function formatDay(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
}

// The day (YYYY-MM-DD) of `ms` in China time (UTC+8, no summer time), as the
// server counts days: registrations, statistics, statements. A browser in
// another zone (or a CI machine on UTC after 16:00) would otherwise ask for
// the wrong day.
export function chinaDay(ms = Date.now()) {
  const d = new Date(ms + 8 * 3600 * 1000)
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
}

// {amount, unit} → "20 工作日" via the i18n unit names.
export function formatLimit(t, limit) {
  if (!limit || !limit.amount) return t('common.none')
  return `${limit.amount} ${t(`unit.${limit.unit}`)}`
}

// A case's light may come as case_light or light.
export function caseLight(item) {
  return item?.case_light ?? item?.light ?? ''
}

export function formatSize(bytes) {
  if (!bytes) return ''
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
