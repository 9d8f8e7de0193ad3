// Org codes are hierarchical, three digits a level (001, 001002, 001002003):
// a code's parent is the code without its last level. Used to open the tree
// down to an org.
const LEVEL = 3

// "001002003" → ["001", "001002"]: the orgs to open to show it in the tree.
export function ancestorCodes(code) {
  const codes = []
  for (let end = LEVEL; end < (code || '').length; end += LEVEL) codes.push(code.slice(0, end))
  return codes
}
