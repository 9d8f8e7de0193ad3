// Turns an uploaded user list into the UTF-8 CSV that `users/import` takes.
// Excel (.xlsx) is read in the browser with read-excel-file (loaded only when an
// .xlsx is chosen); CSV saved by Excel on a Chinese Windows is GBK, so it is
// decoded as GB18030 when it is not UTF-8.

const TEMPLATE_HEADER = [
  'loginname',
  'username',
  'orgcoding',
  'loginpwd',
  'mobile',
  'email',
  'idtype',
  'idnum',
  'sex',
  'userposition',
]

const pad = (n) => String(n).padStart(2, '0')

function cellText(value) {
  if (value === null || value === undefined) return ''
  if (value instanceof Date) {
    return `${value.getUTCFullYear()}-${pad(value.getUTCMonth() + 1)}-${pad(value.getUTCDate())}`
  }
  return String(value)
}

function csvField(text) {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

function toCsv(rows) {
  return rows.map((row) => row.map((cell) => csvField(cellText(cell))).join(',')).join('\n') + '\n'
}

function decodeText(buffer) {
  let text
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buffer)
  } catch {
    text = new TextDecoder('gb18030').decode(buffer)
  }
  return text.startsWith('\uFEFF') ? text.slice(1) : text
}

export function fileKind(file) {
  const name = file.name.toLowerCase()
  if (name.endsWith('.xlsx')) return 'xlsx'
  if (name.endsWith('.csv')) return 'csv'
  return null
}

// The CSV text of an uploaded .csv or .xlsx (first sheet); numbers keep their
// exact digits (ID numbers and mobiles must not become 1.1e17).
export async function fileToCsv(file) {
  if (fileKind(file) === 'csv') return decodeText(await file.arrayBuffer())
  const { readSheet } = await import('read-excel-file/browser')
  const rows = await readSheet(file, { parseNumber: (digits) => digits })
  const filled = rows.filter((row) => row.some((cell) => cellText(cell) !== ''))
  return filled.length ? toCsv(filled) : ''
}

export function templateCsvUrl() {
  const blob = new Blob([`\uFEFF${TEMPLATE_HEADER.join(',')}\n`], {
    type: 'text/csv;charset=utf-8',
  })
  return URL.createObjectURL(blob)
}
