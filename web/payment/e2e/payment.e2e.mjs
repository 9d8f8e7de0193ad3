// End-to-end test of the payment console (web/payment, /payment/) and the
// hall's payer pages (web/hall, /hall/#/pay) in headless Chromium, against the
// real binary and `tongban paysim` as the channel. Run by
// tests/integration/test_payment_web_e2e.py; by hand:
//
//   BASE_URL=http://127.0.0.1:8080 ARTIFACTS=/tmp/shots CLERK=payclerk PASSWORD=... \
//   node web/payment/e2e/payment.e2e.mjs
//
// Steps: the clerk logs in and issues a notice from the console (the payer's ID
// is checked as typed); a payer on a phone finds it in the hall by number, sees
// the amount due, pays at the channel's page and comes back to the notice, which
// turns 已缴 when the channel's notification lands, with a receipt PDF; the clerk
// sees the payment; a batch import with a bad row names the row and imports
// nothing; a good one imports; reconciliation of today's statement matches the
// payment with no exception. Screenshot per step; exits 1 naming the failed step.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { chromium } from 'playwright-core'

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

function requiredEnv(name) {
  const value = process.env[name]
  if (!value) throw new Error(`environment variable ${name} is not set`)
  return value
}

const env = {
  base: requiredEnv('BASE_URL').replace(/\/+$/, ''),
  artifacts: requiredEnv('ARTIFACTS'),
  clerk: requiredEnv('CLERK'),
  password: requiredEnv('PASSWORD'),
}
const CONSOLE = `${env.base}/payment/`
const HALL = `${env.base}/hall/`
const byTestId = (id) => `[data-testid="${id}"]`
const inputOf = (id) => `input${byTestId(id)}, ${byTestId(id)} input`

function expect(condition, message) {
  if (!condition) throw new Error(message)
}

class Run {
  constructor(browser) {
    this.browser = browser
    this.count = 0
    this.problems = []
  }

  async context(viewport) {
    const context = await this.browser.newContext({ viewport, locale: 'zh-CN' })
    const page = await context.newPage()
    page.setDefaultTimeout(20_000)
    page.on('console', (message) => {
      const text = message.text()
      if (message.type() === 'error' && !/Failed to load resource/.test(text)) this.problems.push(text)
    })
    page.on('pageerror', (error) => this.problems.push(`page error: ${error.message}`))
    return page
  }

  async step(page, name, action) {
    this.count += 1
    const label = `${String(this.count).padStart(2, '0')}-${name}`
    process.stdout.write(`step ${label} ... `)
    try {
      await action()
      await page.screenshot({ path: join(env.artifacts, `${label}.png`), fullPage: true })
      console.log('ok')
    } catch (error) {
      console.log('FAILED')
      await page.screenshot({ path: join(env.artifacts, `${label}-failed.png`), fullPage: true }).catch(() => {})
      throw new Error(`step ${label}: ${error.message}`)
    }
  }
}

const today = () => {
  const d = new Date(Date.now() + 8 * 3600_000) // the platform's day is China's
  return d.toISOString().slice(0, 10)
}

async function main() {
  mkdirSync(env.artifacts, { recursive: true })
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
  const run = new Run(browser)
  try {
    const clerk = await run.context({ width: 1366, height: 768 })
    const original = `E2E${Date.now() % 1_000_000_000}`
    let noticeNo = ''

    await run.step(clerk, 'login', async () => {
      await clerk.goto(CONSOLE)
      await clerk.waitForURL(/\/sso\/usp\.do/)
      await clerk.locator('#loginname').fill(env.clerk)
      await clerk.locator('#password').fill(env.password)
      await clerk.locator('button[type=submit]').click()
      await clerk.waitForURL(/\/payment\//)
      await clerk.locator(byTestId('nav-notices')).waitFor()
    })

    await run.step(clerk, 'issue-notice', async () => {
      await clerk.locator(byTestId('nav-newNotice')).click()
      await clerk.locator(byTestId('new-notice-form')).waitFor()
      await clerk.locator(inputOf('new-notice-original')).fill(original)
      await clerk.locator(inputOf('new-notice-payer')).fill('钱七')
      // A wrong check digit is reported as typed.
      const id = clerk.locator('.el-form-item', { hasText: '证件号码' }).locator('input')
      await id.fill('110105194912310021')
      await clerk.locator('.el-form-item__error', { hasText: '校验位' }).waitFor()
      await id.fill('11010519491231002X')
      // An item with a standard prices itself: 2 × 10.00.
      await clerk.locator(byTestId('new-notice-item-0')).click()
      await clerk.locator('.el-select-dropdown__item:visible', { hasText: '00034002' }).click()
      const count = clerk.locator('.line input').nth(1)
      await count.fill('2')
      expect((await clerk.locator(inputOf('new-notice-amount-0')).inputValue()) === '20.00',
        'count × standard is not priced')
      // One without takes the amount typed.
      await clerk.locator(byTestId('new-notice-item-0')).click()
      await clerk.locator('.el-select-dropdown__item:visible', { hasText: '00034003' }).click()
      await clerk.locator(inputOf('new-notice-amount-0')).fill('12.50')
      await clerk.locator(byTestId('new-notice-save')).click()
      await clerk.locator(byTestId('notice-detail')).waitFor()
      const state = clerk.locator(byTestId('notice-state'))
      expect((await state.getAttribute('data-state')) === 'unpaid', 'the new notice is not 未缴')
      noticeNo = (await clerk.locator('.mono').first().innerText()).trim()
      expect(noticeNo.endsWith(original), `notice number ${noticeNo} does not end with ${original}`)
    })

    const payer = await run.context({ width: 390, height: 844 })
    await run.step(payer, 'hall-find', async () => {
      await payer.goto(`${HALL}#/pay`)
      await payer.locator(inputOf('pay-notice-no')).fill('12')
      await payer.locator(byTestId('pay-find')).click()
      await payer.locator('.el-form-item__error').waitFor()
      await payer.locator(inputOf('pay-notice-no')).fill(noticeNo)
      await payer.locator(byTestId('pay-find')).click()
      await payer.locator(byTestId('notice-card')).waitFor()
      const due = await payer.locator(byTestId('notice-due')).innerText()
      expect(due.includes('12.50'), `the amount due reads ${due}`)
    })

    await run.step(payer, 'hall-pay', async () => {
      await payer.locator(byTestId('notice-pay')).click()
      await payer.waitForURL(/\/paysim\/pay/)
      await payer.locator('#pay').click()
      await payer.waitForURL(/\/hall\/#\/pay\//)
      // Paid once the channel's signed notification has landed.
      await payer.locator(`${byTestId('notice-state')}[data-state="paid"]`).waitFor({ timeout: 30_000 })
      const receipt = await payer.locator(`${byTestId('notice-receipt')}`).getAttribute('href')
      const pdf = await payer.request.get(new URL(receipt, env.base).href)
      expect(pdf.status() === 200, `the receipt answered ${pdf.status()}`)
      expect((await pdf.body()).subarray(0, 5).toString() === '%PDF-', 'the receipt is not a PDF')
    })

    await run.step(clerk, 'clerk-sees-payment', async () => {
      await clerk.reload()
      await clerk.locator(`${byTestId('notice-state')}[data-state="paid"]`).waitFor()
      await clerk.locator(`${byTestId('notice-payments')} .el-table__body tr`).first().waitFor()
    })

    await run.step(clerk, 'import', async () => {
      await clerk.locator(byTestId('nav-import')).click()
      const bad = join(tmpdir(), `bad-${original}.txt`)
      const good = join(tmpdir(), `good-${original}.txt`)
      writeFileSync(bad, `ORIGINALNOTICENO|PAYER|PAYERMOBILE|CHITCODE|CHMONEY\nB${original}|甲|123|00034003|10.00\n`)
      writeFileSync(good, `ORIGINALNOTICENO|PAYER|CHITCODE|CHMONEY\nG${original}|乙|00034003|10.00\n`)
      await clerk.locator(byTestId('import-file')).setInputFiles(bad)
      await clerk.locator(byTestId('import-run')).click()
      const row = clerk.locator(`${byTestId('import-errors')} .el-table__body tr`).first()
      await row.waitFor()
      expect((await row.innerText()).includes('2'), 'the bad row is not named by its line')
      await clerk.locator(byTestId('import-file')).setInputFiles(good)
      await clerk.locator(byTestId('import-run')).click()
      await clerk.locator(byTestId('import-result'), { hasText: '1' }).waitFor()
    })

    await run.step(clerk, 'reconcile', async () => {
      await clerk.locator(byTestId('nav-reconcile')).click()
      const date = clerk.locator('.el-date-editor input')
      await date.fill(today())
      await date.press('Enter')
      await clerk.locator(byTestId('reconcile-run')).click()
      // The run lists its outcome counts (exceptions alone are itemised): today's
      // payment is matched, nothing is missing on either side.
      const run = clerk.locator(`${byTestId('reconcile-runs')} .el-table__body tr`,
        { hasText: today().replaceAll('-', '') }).first()
      await run.waitFor()
      const cells = await run.locator('td').allInnerTexts()
      expect(Number(cells[5]) >= 1, `matched reads ${cells[5]}`)
      expect(cells.slice(6, 10).every((c) => c.trim() === '0'), `exceptions: ${cells.slice(6, 10)}`)
    })

    expect(run.problems.length === 0, `the browser console reported: ${run.problems.join(' | ')}`)
    console.log(`payment e2e passed: ${run.count} steps, screenshots in ${env.artifacts}`)
  } finally {
    await browser.close()
  }
}

main().catch((error) => {
  console.error(`payment e2e FAILED: ${error.message}`)
  process.exit(1)
})
