// Display helpers of the hall.

const pad = (n) => String(n).padStart(2, '0')

export function formatTime(ms) {
  if (!ms) return ''
  const d = new Date(ms)
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}`
  )
}

export function formatLimit(t, limit) {
  if (!limit || !limit.amount) return t('common.none')
  return `${limit.amount} ${t(`unit.${limit.unit}`)}`
}

export function formatSize(bytes) {
  if (!bytes) return ''
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
