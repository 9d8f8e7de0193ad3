// Building request bodies from edit forms.

const normal = (value) => JSON.stringify(value ?? '')

// The fields of `edited` whose value differs from `original` (absent = ""):
// PUT bodies carry only what the admin changed.
export function changedFields(original, edited, keys) {
  const changes = {}
  for (const key of keys) {
    if (normal(edited[key]) !== normal(original[key])) changes[key] = edited[key]
  }
  return changes
}

// A copy of `source` limited to `keys`, with absent values as `blank`.
export function pick(source, keys, blank = '') {
  return Object.fromEntries(keys.map((key) => [key, source?.[key] ?? blank]))
}

// `orderby` is a number in the API; an empty input means "not set".
export function toOrderby(value) {
  return value === '' || value === null || value === undefined ? undefined : Number(value)
}

// An ElForm rule: the field labelled `labelKey` must be filled in.
export function requiredRule(t, labelKey) {
  return [{ required: true, message: t('common.required', { field: t(labelKey) }) }]
}

// Runs an ElForm's rules; the form shows what is wrong next to each field.
export async function isValid(form) {
  try {
    return await form.validate()
  } catch {
    return false
  }
}

// Drops empty and unset fields: a new record gets the server's defaults for them.
export function withoutBlanks(source) {
  return Object.fromEntries(
    Object.entries(source).filter(([, value]) => value !== '' && value !== undefined),
  )
}
