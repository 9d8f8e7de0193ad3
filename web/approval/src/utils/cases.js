// What a case allows and which notices it has, from its state and history.
// The API may list `actions` (the transitions this user may make) on a case;
// when it does that list wins, and the rules below are only the fallback.

// The PDF notice that an action issues.
export const NOTICE_OF_ACTION = {
  accept: 'acceptance',
  refuse: 'refusal',
  request_correction: 'correction',
  complete: 'completion',
}

export function allowedActions(kase, roles) {
  if (!kase) return []
  if (Array.isArray(kase.actions)) return kase.actions
  if (kase.reported) return []
  const has = (r) => roles.has(r)
  switch (kase.state) {
    case 'registered':
      return has('accept') ? ['accept', 'refuse', 'request_correction', 'void'] : []
    case 'in_step':
      return has(kase.pending_role)
        ? ['agree', 'disagree', 'return', 'return_to_applicant', 'transfer', 'request_correction',
          'suspend']
        : []
    case 'correction':
      return has('accept') || has('intake') ? ['resubmit'] : []
    case 'suspended':
      return has(kase.pending_role) ? ['resume'] : []
    default:
      return []
  }
}

// The notices a case has: from its history's actions, and completion.
export function noticesOf(kase, history) {
  const kinds = new Set()
  for (const record of history || []) {
    const kind = NOTICE_OF_ACTION[record.action]
    if (kind) kinds.add(kind)
  }
  if (kase?.state === 'completed') kinds.add('completion')
  return ['acceptance', 'refusal', 'correction', 'completion'].filter((k) => kinds.has(k))
}
