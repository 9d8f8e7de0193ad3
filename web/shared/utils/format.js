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
