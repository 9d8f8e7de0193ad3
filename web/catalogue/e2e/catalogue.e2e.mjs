// End-to-end test of the catalogue pages in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core), run by
// tests/integration/test_catalogue_web_e2e.py against a real tongban with its
// demo catalogue; by hand:
//
//   BASE_URL=http://127.0.0.1:8080 USER_LOGIN=catuser USER_PASSWORD=... \
//   PROVIDER_LOGIN=catprovider PROVIDER_PASSWORD=... ARTIFACTS=/tmp/shots \
//   node web/catalogue/e2e/catalogue.e2e.mjs
//
// The flow of issue 17: staff of the 民政局 search 人口, open the resource and
// apply for three fields; the 公安局's provider approves two; the applicant
// queries a person under the grant (mobile masked) and is refused a field
// outside it; the provider revokes the grant; the applicant's next query is
// refused. A screenshot after each step goes to ARTIFACTS. Exits 1 naming the
// failed step.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']
const VIEWPORT = { width: 1366, height: 768 }
const KNOWN = '11010519491231002X'

function requiredEnv(name) {
  const value = process.env[name]
  if (!value) throw new Error(`environment variable ${name} is not set`)
  return value
}

const env = {
  base: requiredEnv('BASE_URL').replace(/\/+$/, ''),
  user: [requiredEnv('USER_LOGIN'), requiredEnv('USER_PASSWORD')],
  provider: [requiredEnv('PROVIDER_LOGIN'), requiredEnv('PROVIDER_PASSWORD')],
  artifacts: requiredEnv('ARTIFACTS'),
}
const APP = `${env.base}/catalogue/`
const tid = (id) => `[data-testid="${id}"]`
const inputOf = (id) => `input${tid(id)}, ${tid(id)} input, textarea${tid(id)}, ${tid(id)} textarea`

function expect(condition, message) {
  if (!condition) throw new Error(message)
}

class Run {
  constructor(browser) {
    this.browser = browser
    this.count = 0
    this.problems = []
  }

  // A browser context signed in through the SSO login page.
  async as([loginname, password]) {
    const context = await this.browser.newContext({ viewport: VIEWPORT, locale: 'zh-CN' })
    const page = await context.newPage()
    page.setDefaultTimeout(20_000)
    page.on('pageerror', (error) => this.problems.push(`page error: ${error.message}`))
    await page.goto(APP)
    await page.waitForURL(/\/sso\/usp\.do/)
    await page.locator('#loginname').fill(loginname)
    await page.locator('#password').fill(password)
    await page.locator('button[type=submit]').click()
    await page.waitForURL(/\/catalogue\//)
    await page.locator(tid('whoami')).waitFor()
    return page
  }

  async step(name, page, fn) {
    this.count += 1
    const label = `${String(this.count).padStart(2, '0')}-${name}`
    try {
      await fn()
      await page.screenshot({ path: join(env.artifacts, `${label}.png`), fullPage: true })
      console.log(`ok ${label}`)
    } catch (error) {
      await page.screenshot({ path: join(env.artifacts, `${label}-FAILED.png`), fullPage: true }).catch(() => {})
      throw new Error(`step ${label}: ${error.message}`)
    }
  }
}

async function main() {
  mkdirSync(env.artifacts, { recursive: true })
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS })
  const run = new Run(browser)
  try {
    const user = await run.as(env.user)
    let applicationId = 0
    await run.step('search', user, async () => {
      await user.locator(inputOf('search-input')).fill('人口')
      await user.locator(tid('search-go')).click()
      await user.locator(`${tid('results')} a`, { hasText: '人口基础信息' }).first().click()
      await user.locator(tid('resource-name')).filter({ hasText: '人口基础信息' }).waitFor()
      await user.locator(tid('locate')).filter({ hasText: '演示市公安局' }).waitFor()
    })
    await run.step('apply', user, async () => {
      for (const f of ['name', 'mobile', 'address']) await user.locator(tid(`apply-field-${f}`)).click()
      await user.locator(inputOf('apply-purpose')).fill('低保审核时核验申请人身份')
      await user.locator(inputOf('apply-basis')).fill('《社会救助暂行办法》第十一条')
      const [response] = await Promise.all([
        user.waitForResponse((r) => r.url().endsWith('/catalogue/api/applications') && r.request().method() === 'POST'),
        user.locator(tid('apply-submit')).click(),
      ])
      expect(response.status() === 200, `apply answered ${response.status()}`)
      applicationId = (await response.json()).id
      await user.locator(tid(`application-state-${applicationId}`)).filter({ hasText: '待审批' }).waitFor()
    })

    const provider = await run.as(env.provider)
    let grantId = 0
    await run.step('approve-fewer-fields', provider, async () => {
      await provider.locator(tid('nav-approvals')).click()
      await provider.locator(tid(`approve-${applicationId}`)).click()
      await provider.locator(tid('decide-field-address')).click()  // not approved
      const [response] = await Promise.all([
        provider.waitForResponse((r) => r.url().endsWith(`/applications/${applicationId}/decision`)),
        provider.locator(tid('decide-submit')).click(),
      ])
      const decided = await response.json()
      expect(decided.state === 'approved', `decision: ${JSON.stringify(decided)}`)
      expect(decided.approved_fields.join(',') === 'mobile,name', `approved ${decided.approved_fields}`)
      grantId = decided.grant_id
    })

    await run.step('query', user, async () => {
      await user.locator(tid('nav-grants')).click()
      await user.locator(tid(`grant-query-${grantId}`)).click()
      await user.locator(inputOf('query-key')).fill(KNOWN)
      await user.locator(tid('query-go')).click()
      await user.locator(tid('query-value-name')).filter({ hasText: '张三' }).waitFor()
      const mobile = await user.locator(tid('query-value-mobile')).innerText()
      expect(mobile === '138****8000', `mobile shown as ${mobile}`)
      expect(await user.locator(tid('query-value-address')).count() === 0, 'address shown')
    })
    await run.step('outside-the-grant', user, async () => {
      await user.locator(inputOf('query-fields')).fill('address')
      await user.locator(tid('query-go')).click()
      const error = await user.locator(tid('query-error')).innerText()
      expect(error.includes('3002'), `error: ${error}`)
      expect(!error.includes('address') && !error.includes('住址'), `the refusal names a field: ${error}`)
      await user.locator(inputOf('query-fields')).fill('')
    })

    await run.step('revoke', provider, async () => {
      await provider.locator(tid('nav-grants')).click()
      await provider.locator(tid(`given-revoke-${grantId}`)).click()
      await provider.locator('.el-message-box input').fill('低保审核已结束')
      const [response] = await Promise.all([
        provider.waitForResponse((r) => r.url().endsWith(`/grants/${grantId}/revoke`)),
        provider.locator('.el-message-box .el-button--primary').click(),
      ])
      expect(response.status() === 200, `revoke answered ${response.status()}`)
    })

    await run.step('refused', user, async () => {
      await user.locator(tid('query-go')).click()
      const error = await user.locator(tid('query-error')).innerText()
      expect(error.includes('3001'), `error after revocation: ${error}`)
      await user.reload()
      await user.locator(tid(`grant-state-${grantId}`)).filter({ hasText: '已撤销' }).waitFor()
    })
    expect(run.problems.length === 0, `page errors: ${run.problems.join('; ')}`)
  } finally {
    await browser.close()
  }
}

main().catch((error) => {
  console.error(error.message)
  process.exit(1)
})
