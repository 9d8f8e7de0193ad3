// End-to-end test of citizen self-registration (issue 20) in headless
// Chromium: a person registers on a phone-sized screen through the SSO's
// server-rendered pages (the code read from the sandbox SMS file, the tests'
// phone), logs in, and an administrator records a counter check on the
// console's 自助账号 page, raising the account to level 2. Run by
// tests/integration/test_citizen_e2e.py; by hand:
//
//   BASE_URL=http://127.0.0.1:8080 ADMIN_USER=admin ADMIN_PASSWORD=... \
//   SMS_FILE=var/sms-sandbox.jsonl ARTIFACTS=/tmp/shots node web/admin/e2e/citizen.e2e.mjs
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

function requiredEnv(name) {
  const value = process.env[name]
  if (!value) throw new Error(`environment variable ${name} is not set`)
  return value
}

const env = {
  base: requiredEnv('BASE_URL').replace(/\/+$/, ''),
  adminUser: requiredEnv('ADMIN_USER'),
  adminPassword: requiredEnv('ADMIN_PASSWORD'),
  smsFile: requiredEnv('SMS_FILE'),
  artifacts: requiredEnv('ARTIFACTS'),
  idnum: requiredEnv('IDNUM'),
}
const byTestId = (id) => `[data-testid="${id}"]`
const loginname = `e2e${Date.now().toString(36)}`
const mobile = `135${String(Date.now()).slice(-8)}`

function expect(condition, message) {
  if (!condition) throw new Error(message)
}

// The newest register code sent to `mobile`; messages are written on a
// thread of the server, so the file is polled until it has one.
async function codeFor(number) {
  const deadline = Date.now() + 15000
  while (Date.now() < deadline) {
    if (existsSync(env.smsFile)) {
      const lines = readFileSync(env.smsFile, 'utf8').trim().split('\n').filter(Boolean)
      const mine = lines.map((l) => JSON.parse(l)).filter((m) => m.mobile === number)
      if (mine.length) return /(\d{6})/.exec(mine[mine.length - 1].text)[1]
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`no SMS to ${number}`)
}

let count = 0
async function step(page, name, action) {
  count += 1
  const label = `${String(count).padStart(2, '0')}-${name}`
  process.stdout.write(`step ${label} ... `)
  try {
    await action()
    await page.screenshot({ path: join(env.artifacts, `${label}.png`), animations: 'disabled' })
    console.log('ok')
  } catch (error) {
    console.log('FAILED')
    await page.screenshot({ path: join(env.artifacts, `${label}-failed.png`) }).catch(() => {})
    throw new Error(`step ${label}: ${error.message}`)
  }
}

async function notice(page) {
  return page.locator('[role="alert"]').first().getAttribute('data-code')
}

async function main() {
  mkdirSync(env.artifacts, { recursive: true })
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
  try {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } })
    await step(phone, 'register-mobile', async () => {
      await phone.goto(`${env.base}/sso/usp.do?action=register`)
      await phone.locator('input[name="kind"][value="personal"]').check()
      await phone.locator('#mobile').fill(mobile)
      await phone.locator('button[type=submit]').click()
      expect((await notice(phone)) === 'sent', 'no "code sent" notice')
      const wide = await phone.evaluate(() => document.documentElement.scrollWidth)
      expect(wide <= 390, `the form scrolls sideways on a phone (${wide}px)`)
    })
    await step(phone, 'register-details', async () => {
      await phone.locator('#code').fill(await codeFor(mobile))
      await phone.locator('#username').fill('端到端')
      await phone.locator('#idnum').fill(env.idnum)
      await phone.locator('#loginname').fill(loginname)
      await phone.locator('#password').fill('Citizen-Pass1')
      await phone.locator('#confirmpassword').fill('Citizen-Pass1')
      await phone.locator('button[type=submit]').click()
      expect((await notice(phone)) === '0', `registration refused: ${await phone.content()}`)
      await phone.locator(`[data-loginname="${loginname}"]`).waitFor()
    })
    await step(phone, 'citizen-login', async () => {
      await phone.locator('nav a').first().click()
      await phone.locator('#loginname').fill(loginname)
      await phone.locator('#password').fill('Citizen-Pass1')
      await phone.locator('button[type=submit]').click()
      await phone.locator('text=我的应用').first().waitFor()
    })

    const desk = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    await step(desk, 'console-citizens', async () => {
      await desk.goto(`${env.base}/sso/admin/`)
      await desk.locator('#loginname').fill(env.adminUser)
      await desk.locator('#password').fill(env.adminPassword)
      await desk.locator('button[type=submit]').click()
      await desk.locator(byTestId('nav-citizens')).click()
      await desk.locator(byTestId('citizen-sms')).waitFor()
      await desk.locator(byTestId(`citizen-check-${loginname}`)).waitFor()
    })
    await step(desk, 'counter-check', async () => {
      await desk.locator(byTestId(`citizen-check-${loginname}`)).click()
      await desk.locator(`${byTestId('citizen-dialog-level')} label`, { hasText: '2' }).click()
      await desk.locator(`input${byTestId('citizen-dialog-note')}, ${byTestId('citizen-dialog-note')} input`)
        .fill('核对身份证原件')
      await desk.locator(byTestId('citizen-dialog-save')).click()
      await desk.locator('.el-message--success').first().waitFor()
      const row = desk.locator(`${byTestId('citizen-table')} tr`, { hasText: loginname })
      await row.locator('text=2 级').waitFor()
    })
  } finally {
    await browser.close()
  }
  console.log(`LOGINNAME=${loginname}`)
}

main().catch((error) => {
  console.error(error.message)
  process.exit(1)
})
