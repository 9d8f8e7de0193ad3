// Check digits of the two identity numbers an applicant gives, for feedback as
// the clerk types (the server checks again: src/directory/validators.cc).
// GB 11643-1999 resident ID: 17 digits + ISO 7064 MOD 11-2 check character.
// GB 32100-2015 unified social credit code (USCC): 17 characters of a 31-letter
// alphabet + a MOD 31 check character, with a GB 11714 organisation code inside.
// Each check answers '' when valid, else a reason key (idcheck.<reason> in i18n).

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const ID_CHECK = '10X98765432'
const USCC_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
const ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]

// Province-level divisions of GB/T 2260 (83 = Taiwan residents' mainland permits).
function isProvince(p) {
  return (
    (p >= 11 && p <= 15) || (p >= 21 && p <= 23) || (p >= 31 && p <= 37) ||
    (p >= 41 && p <= 46) || (p >= 50 && p <= 54) || (p >= 61 && p <= 65) ||
    p === 71 || p === 81 || p === 82 || p === 83
  )
}

export function residentIdCheckChar(first17) {
  let sum = 0
  for (let i = 0; i < 17; i += 1) sum += Number(first17[i]) * ID_WEIGHTS[i]
  return ID_CHECK[sum % 11]
}

// today: a Date (the birth date may not lie after it).
export function checkResidentId(raw, today = new Date()) {
  const id = String(raw || '').trim().toUpperCase()
  if (!id) return 'empty'
  if (!/^\d{0,17}[\dX]?$/.test(id) || (id.length < 18 && id.includes('X'))) return 'badChars'
  if (id.length < 18) return 'tooShort'
  if (!isProvince(Number(id.slice(0, 2)))) return 'province'
  const y = Number(id.slice(6, 10))
  const m = Number(id.slice(10, 12))
  const d = Number(id.slice(12, 14))
  const birth = new Date(Date.UTC(y, m - 1, d))
  const real = y >= 1800 && birth.getUTCMonth() === m - 1 && birth.getUTCDate() === d
  if (!real) return 'birthDate'
  const now = Date.UTC(today.getFullYear(), today.getMonth(), today.getDate())
  if (birth.getTime() > now) return 'birthDate'
  if (residentIdCheckChar(id) !== id[17]) return 'checkDigit'
  return ''
}

function organizationCodeValid(code9) {
  let sum = 0
  for (let i = 0; i < 8; i += 1) {
    const c = code9[i]
    let v
    if (c >= '0' && c <= '9') v = c.charCodeAt(0) - 48
    else if (c >= 'A' && c <= 'Z') v = c.charCodeAt(0) - 55
    else return false
    sum += v * ORG_WEIGHTS[i]
  }
  const check = 11 - (sum % 11)
  const expected = check === 10 ? 'X' : check === 11 ? '0' : String(check)
  return code9[8] === expected
}

export function creditCodeCheckChar(first17) {
  let sum = 0
  for (let i = 0; i < 17; i += 1) sum += USCC_ALPHABET.indexOf(first17[i]) * USCC_WEIGHTS[i]
  return USCC_ALPHABET[(31 - (sum % 31)) % 31]
}

export function checkCreditCode(raw) {
  const code = String(raw || '').trim().toUpperCase()
  if (!code) return 'empty'
  if (![...code].every((c) => USCC_ALPHABET.includes(c)) || code.length > 18) return 'badChars'
  if (code.length < 18) return 'tooShort'
  if (!/^\d{6}$/.test(code.slice(2, 8))) return 'division'
  if (creditCodeCheckChar(code) !== code[17]) return 'checkDigit'
  if (!organizationCodeValid(code.slice(8, 17))) return 'orgCode'
  return ''
}

export function checkMobile(raw) {
  const m = String(raw || '').trim()
  if (!m) return 'empty'
  if (!/^\d*$/.test(m)) return 'badChars'
  if (m.length < 11) return 'tooShort'
  return /^1[3-9]\d{9}$/.test(m) ? '' : 'mobile'
}

// The check of an applicant's number by its 证件类型: 10 resident ID, 49 USCC;
// other documents (passports, permits) are only required to be present.
export function checkIdNumber(idType, value) {
  if (idType === '10') return checkResidentId(value)
  if (idType === '49') return checkCreditCode(value)
  return String(value || '').trim() ? '' : 'empty'
}
