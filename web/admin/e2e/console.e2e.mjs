// End-to-end test of the admin console in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core). Run by
// tests/integration/test_admin_console_e2e.py against a real tongban; by hand:
//
//   BASE_URL=http://127.0.0.1:8080 ADMIN_USER=admin ADMIN_PASSWORD=... \
//   ARTIFACTS=/tmp/shots DEAD_PUSH_APP=<servicecode with a dead push> \
//   node web/admin/e2e/console.e2e.mjs
//
// Each step ends with a screenshot at 1366x768 in ARTIFACTS. Exits 1 with the
// failing step named when anything does not happen as expected.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

const VIEWPORT = { width: 1366, height: 768 }
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

function requiredEnv(name) {
  const value = process.env[name]
  if (!value) throw new Error(`environment variable ${name} is not set`)
  return value
}

const env = {
  base: requiredEnv('BASE_URL').replace(/\/+$/, ''),
  adminUser: requiredEnv('ADMIN_USER'),
  adminPassword: requiredEnv('ADMIN_PASSWORD'),
  artifacts: requiredEnv('ARTIFACTS'),
  deadPushApp: requiredEnv('DEAD_PUSH_APP'),
  xlsxFile: requiredEnv('XLSX_FILE'),
}
const runId = Date.now().toString(36)
const byTestId = (id) => `[data-testid="${id}"]`
// Element Plus puts a text field's attributes on the <input>, a select's on its wrapper.
const inputOf = (id) => `input${byTestId(id)}, ${byTestId(id)} input`

class Run {
  constructor(page) {
    this.page = page
    this.count = 0
    this.problems = [] // CSP refusals and script errors seen in the console
    page.on('console', (message) => {
      const text = message.text()
      if (message.type() === 'error' && !/Failed to load resource/.test(text)) {
        this.problems.push(text)
      }
    })
    page.on('pageerror', (error) => this.problems.push(`page error: ${error.message}`))
  }

  async step(name, action) {
    this.count += 1
    const label = `${String(this.count).padStart(2, '0')}-${name}`
    this.label = label
    process.stdout.write(`step ${label} ... `)
    try {
      await action()
      await this.checkLayout()
      await this.screenshot(`${label}.png`)
      console.log('ok')
    } catch (error) {
      console.log('FAILED')
      // The page may be gone; the error below says what broke either way.
      await this.screenshot(`${label}-failed.png`).catch(() => {})
      throw new Error(`step ${label}: ${error.message}`)
    }
  }

  // Transitions are finished first, so a dialog is shown fully opened.
  screenshot(file) {
    return this.page.screenshot({ path: join(env.artifacts, file), animations: 'disabled' })
  }

  // An extra screenshot inside the current step (e.g. of a dialog that closes later).
  shot(suffix) {
    return this.screenshot(`${this.label}-${suffix}.png`)
  }

  // The page fits a 1366-pixel office screen, and every component rendered: a
  // production Vue build leaves an unregistered <el-…> tag in the DOM silently.
  async checkLayout() {
    const { scroll, inner, unresolved } = await this.page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      inner: window.innerWidth,
      unresolved: [...document.querySelectorAll('*')]
        .map((el) => el.tagName.toLowerCase())
        .filter((tag) => tag.startsWith('el-')),
    }))
    expect(scroll <= inner, `horizontal scrolling: page ${scroll}px wide, window ${inner}px`)
    expect(!unresolved.length, `components not registered: ${[...new Set(unresolved)].join(', ')}`)
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message)
}

async function ssoLogin(page, loginname, password) {
  await page.locator('#loginname').fill(loginname)
  await page.locator('#password').fill(password)
  await page.locator('button[type=submit]').click()
}

async function gotoPage(page, name, readyTestId) {
  await page.locator(byTestId(`nav-${name}`)).click()
  await page.locator(byTestId(readyTestId)).waitFor()
}

// Picks an org in an OrgPicker (a remote-search select) by typing its name.
async function pickOrg(page, pickerTestId, orgname) {
  await page.locator(inputOf(pickerTestId)).fill(orgname)
  await page.locator('.el-select-dropdown__item:visible', { hasText: orgname }).first().click()
}

// Reads the once-only secret dialog, closes it, and returns the secret.
async function takeSecret(run) {
  const { page } = run
  const input = page.locator(byTestId('secret-value'))
  await input.waitFor()
  const secret = await input.inputValue()
  expect(secret.length >= 8, `secret dialog shows "${secret}"`)
  await run.shot('secret')
  await page.locator(byTestId('secret-close')).click()
  await input.waitFor({ state: 'hidden' })
  return secret
}

async function successMessage(page, text) {
  await page.locator('.el-message--success', { hasText: text }).first().waitFor()
}

async function main() {
  mkdirSync(env.artifacts, { recursive: true })
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  })
  try {
    const admin = await browser.newContext({ viewport: VIEWPORT, locale: 'zh-CN' })
    const page = await admin.newPage()
    page.setDefaultTimeout(20_000)
    const run = new Run(page)
    const org = { name: `测试局${runId}`, code: '' }
    const user = { loginname: `e2e_${runId}`, username: `测试员${runId}`, password: '' }
    const app = { servicecode: `e2e${runId}`, name: `测试应用${runId}` }

    await run.step('login-redirect', async () => {
      await page.goto(`${env.base}/sso/admin/`)
      await page.waitForURL(/\/sso\/usp\.do/)
      await page.locator('#loginname').waitFor()
    })

    await run.step('dashboard', async () => {
      await ssoLogin(page, env.adminUser, env.adminPassword)
      await page.waitForURL(/\/sso\/admin\//)
      await page.locator(byTestId('dashboard')).waitFor()
      await page.locator(byTestId('total-users')).waitFor()
      await page.locator('figure svg[role=img]').first().waitFor()
    })

    await run.step('create-org', async () => {
      await gotoPage(page, 'orgs', 'org-tree')
      await page.locator(byTestId('org-node-001')).click()
      await page.locator(byTestId('org-create-child')).click()
      await page.locator(inputOf('org-form-orgname')).fill(org.name)
      await page.locator(byTestId('org-form-submit')).click()
      await page.locator(byTestId('org-detail'), { hasText: org.name }).waitFor()
      org.code = (await page.locator(byTestId('org-detail-code')).innerText()).trim()
      expect(/^001\d{3}$/.test(org.code), `new org got code "${org.code}", expected 001xxx`)
      await page.locator(byTestId(`org-node-${org.code}`)).waitFor()
    })

    await run.step('create-user', async () => {
      await gotoPage(page, 'users', 'user-table')
      await page.locator(byTestId('user-create')).click()
      await page.locator(inputOf('user-form-loginname')).fill(user.loginname)
      await page.locator(inputOf('user-form-username')).fill(user.username)
      await pickOrg(page, 'user-form-org', org.name)
      await page.locator(byTestId('user-form-submit')).click()
      user.password = await takeSecret(run) // generated: no password was typed
      await page.locator(inputOf('user-search-input')).fill(user.loginname)
      await page.locator(byTestId('user-search')).click()
      await page.locator(byTestId(`user-edit-${user.loginname}`)).waitFor()
    })

    await run.step('create-app', async () => {
      await gotoPage(page, 'apps', 'app-table')
      await page.locator(byTestId('app-create')).click()
      await page.locator(inputOf('app-form-servicecode')).fill(app.servicecode)
      await page.locator(inputOf('app-form-name')).fill(app.name)
      const pushUrls = 'synchronizeUser=http://127.0.0.1:9/users'
      await page.locator(`textarea${byTestId('app-form-push-urls')}, ${byTestId('app-form-push-urls')} textarea`).fill(pushUrls)
      await page.locator(byTestId('app-form-md5-login')).click()
      await page.locator(byTestId('app-form-submit')).click()
      const servicepwd = await takeSecret(run)
      await page.locator(byTestId(`app-edit-${app.servicecode}`)).waitFor()
      const shown = await page.locator('body').innerText()
      expect(!shown.includes(servicepwd), 'servicepwd is still on the page after its dialog closed')
      // The per-method push URL and the MD5-login switch were stored: the edit form shows them.
      await page.locator(byTestId(`app-edit-${app.servicecode}`)).click()
      const textarea = page.locator(`${byTestId('app-form')} textarea${byTestId('app-form-push-urls')}, ${byTestId('app-form')} ${byTestId('app-form-push-urls')} textarea`)
      const stored = await textarea.inputValue()
      expect(stored === pushUrls, `push URLs read back as "${stored}"`)
      const md5 = await page.locator(byTestId('app-form-md5-login')).getAttribute('class')
      expect(/is-checked/.test(md5 || ''), `the MD5-login switch reads back off (${md5})`)
      await page.keyboard.press('Escape')
      await page.locator(byTestId('app-form')).waitFor({ state: 'hidden' })
    })

    await run.step('app-second-factor', async () => {
      // The app's second-factor policy: required, then no longer.
      for (const done of ['已要求双因素认证', '已取消双因素认证要求']) {
        await page.locator(byTestId(`app-more-${app.servicecode}`)).click()
        await page.locator(`${byTestId('app-mfa')}:visible`).click()
        await page.locator('.tb-confirm-ok').click()
        await successMessage(page, done)
      }
    })

    await run.step('import-users', async () => {
      await gotoPage(page, 'users', 'user-table')
      await page.locator(byTestId('user-import')).click()
      const csv = [
        'loginname,username,orgcoding,loginpwd',
        `imp1_${runId},导入甲,${org.code},Import-Passw0rd1`,
        `imp2_${runId},导入乙,999999999,Import-Passw0rd2`,
        `imp3_${runId},导入丙,${org.code},Import-Passw0rd3`,
      ].join('\n')
      await page.locator(byTestId('import-file')).setInputFiles({
        name: 'users.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from(`${csv}\n`, 'utf-8'),
      })
      await page.locator(byTestId('import-submit')).click()
      await page.locator(byTestId('import-summary')).waitFor()
      const rows = page.locator(`${byTestId('import-errors')} .el-table__body tr`)
      await rows.first().waitFor()
      const failedRows = await rows.count()
      expect(failedRows === 1, `expected 1 failed row, the table shows ${failedRows}`)
      // Line 3 of the file (after the header) is the one with an unknown org: spec code 2005.
      const cells = await rows.first().locator('td').allInnerTexts()
      const [line, code, reason] = cells.map((cell) => cell.trim())
      expect(line === '3' && code === '2005' && reason, `failed row reads ${cells.join(' | ')}`)
      const summary = await page.locator(byTestId('import-summary')).innerText()
      const counted = /新增 2/.test(summary) && /失败 1/.test(summary)
      expect(counted, `import summary reads "${summary}"`)
    })

    await run.step('import-xlsx', async () => {
      // The dialog is still open from the CSV import: an Excel sheet next.
      await page.locator(byTestId('import-file')).setInputFiles(env.xlsxFile)
      await page.locator(byTestId('import-submit')).click()
      await page.waitForFunction(
        (selector) => /新增 2.*失败 0/s.test(document.querySelector(selector)?.innerText || ''),
        byTestId('import-summary'),
      )
    })

    await run.step('revoke-session', async () => {
      const other = await browser.newContext({ viewport: VIEWPORT, locale: 'zh-CN' })
      try {
        const userPage = await other.newPage()
        await userPage.goto(`${env.base}/sso/usp.do?action=ssoLogin`)
        await ssoLogin(userPage, user.loginname, user.password)
        await userPage.locator('#loginname').waitFor({ state: 'detached' })
        // A plain user's session does not open the console.
        await userPage.goto(`${env.base}/sso/admin/`)
        await userPage.locator(byTestId('forbidden')).waitFor()

        await page.locator(byTestId('import-close')).click()
        await gotoPage(page, 'sessions', 'session-table')
        await page.locator(inputOf('session-search-input')).fill(user.loginname)
        await page.locator(byTestId('session-search')).click()
        const revoke = page.locator(byTestId(`session-revoke-${user.loginname}`))
        await revoke.first().click()
        await page.locator('.tb-confirm-ok').click()
        await successMessage(page, '已下线')
        await revoke.first().waitFor({ state: 'detached' })

        await userPage.goto(`${env.base}/sso/usp.do`)
        await userPage.locator('#loginname').waitFor()
      } finally {
        await other.close()
      }
    })

    await run.step('retry-dead-push', async () => {
      await gotoPage(page, 'outbox', 'outbox-table')
      await page.locator(byTestId('outbox-state-dead')).click()
      const row = page.locator(`${byTestId('outbox-table')} .el-table__body tr`, {
        hasText: env.deadPushApp,
      })
      await row.first().locator('[data-testid^="outbox-retry-"]').click()
      await successMessage(page, '已重新排队 1 条')
    })

    await run.step('exchange', async () => {
      // The first start registers a demo front-end node with the resource demo_people.
      await gotoPage(page, 'exchange', 'exchange-health-nodes')
      const node = page.locator(`${byTestId('exchange-health-nodes')} .el-table__body tr`).first()
      await node.waitFor()
      expect((await node.innerText()).includes('是'), 'the demo node is not connectable')
      await page.locator('.el-tabs__item', { hasText: '资源' }).click()
      const people = page.locator(`${byTestId('exchange-resources')} .el-table__body tr`, { hasText: 'demo_people' })
      await people.waitFor()
      await people.locator('button', { hasText: 'DDL' }).click()
      const ddl = page.locator(byTestId('exchange-ddl'))
      await ddl.waitFor()
      expect(/CREATE TABLE/i.test(await ddl.innerText()), 'the DDL dialog shows no CREATE TABLE')
      await page.keyboard.press('Escape')
      await page.locator('.el-tabs__item', { hasText: '前置机' }).click()
      await page.locator(`${byTestId('exchange-nodes')} .el-table__body tr`, { hasText: 'QZ_' }).first().waitFor()
    })

    await run.step('english', async () => {
      await page.locator(byTestId('locale-switch')).click()
      await page.locator('.el-select-dropdown__item:visible', { hasText: 'English' }).click()
      await page.reload()
      await page.locator(byTestId('nav-users'), { hasText: 'Users' }).waitFor()
      await gotoPage(page, 'dashboard', 'dashboard')
    })

    expect(run.problems.length === 0, `the browser console reported: ${run.problems.join(' | ')}`)
    console.log(`console e2e passed: ${run.count} steps, screenshots in ${env.artifacts}`)
  } finally {
    await browser.close()
  }
}

main().catch((error) => {
  console.error(`console e2e FAILED: ${error.message}`)
  process.exit(1)
})
