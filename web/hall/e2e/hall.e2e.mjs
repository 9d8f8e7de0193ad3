// End-to-end test of the public hall in headless Chromium on a phone-sized
// screen (390x844), after web/approval/e2e/workbench.e2e.mjs has taken a case
// to completion. Run by tests/integration/test_approval_web_e2e.py; by hand:
//
//   BASE_URL=http://127.0.0.1:8080 ARTIFACTS=/tmp/shots CASE_FILE=/tmp/case.json \
//   IMPLEMENT_CODE=<31 chars> APPLICANT=<loginname> PASSWORD=... PDF_FILE=/tmp/a.pdf \
//   node web/hall/e2e/hall.e2e.mjs
//
// Steps: the guide lists and finds the matter; its page shows materials, limits
// and the guide text; a wrong lookup password gets the generic message; the
// right one shows the completed case with its steps; the applicant rates it
// (5 levels + the five online indicators); an applicant applies online after
// the SSO login with an uploaded PDF and gets a case number and password that
// look the new case up. Screenshot per step; exits 1 naming the failed step.
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

const PHONE = { width: 390, height: 844 }
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
  cases: JSON.parse(readFileSync(requiredEnv('CASE_FILE'), 'utf-8')),
  implementCode: requiredEnv('IMPLEMENT_CODE'),
  applicant: requiredEnv('APPLICANT'),
  password: requiredEnv('PASSWORD'),
  pdf: readFileSync(requiredEnv('PDF_FILE')),
}
const HALL = `${env.base}/hall/`
const byTestId = (id) => `[data-testid="${id}"]`
const inputOf = (id) => `input${byTestId(id)}, ${byTestId(id)} input, textarea${byTestId(id)}, ${byTestId(id)} textarea`

function expect(condition, message) {
  if (!condition) throw new Error(message)
}

class Run {
  constructor(page) {
    this.page = page
    this.count = 0
    this.problems = []
    page.on('console', (message) => {
      const text = message.text()
      if (message.type() === 'error' && !/Failed to load resource/.test(text)) this.problems.push(text)
    })
    page.on('pageerror', (error) => this.problems.push(`page error: ${error.message}`))
  }

  async step(name, action) {
    this.count += 1
    const label = `${String(this.count).padStart(2, '0')}-${name}`
    process.stdout.write(`step ${label} ... `)
    try {
      await action()
      await this.checkLayout()
      await this.page.screenshot({ path: join(env.artifacts, `${label}.png`), animations: 'disabled', fullPage: true })
      console.log('ok')
    } catch (error) {
      console.log('FAILED')
      await this.page.screenshot({ path: join(env.artifacts, `${label}-failed.png`), fullPage: true }).catch(() => {})
      throw new Error(`step ${label}: ${error.message}`)
    }
  }

  // A phone screen never scrolls sideways; components rendered; Chinese has a font.
  async checkLayout() {
    const { scroll, inner, unresolved, cjk } = await this.page.evaluate(() => {
      const canvas = document.createElement('canvas')
      canvas.width = 40
      canvas.height = 40
      const g = canvas.getContext('2d')
      const draw = (ch) => {
        g.clearRect(0, 0, 40, 40)
        g.font = `32px ${getComputedStyle(document.body).fontFamily}`
        g.fillText(ch, 2, 32)
        return canvas.toDataURL()
      }
      return {
        scroll: document.documentElement.scrollWidth,
        inner: window.innerWidth,
        unresolved: [...document.querySelectorAll('*')].map((el) => el.tagName.toLowerCase())
          .filter((tag) => tag.startsWith('el-')),
        cjk: draw('办') !== draw('事'),
      }
    })
    expect(scroll <= inner, `horizontal scrolling on a phone: page ${scroll}px wide, window ${inner}px`)
    expect(!unresolved.length, `components not registered: ${[...new Set(unresolved)].join(', ')}`)
    expect(cjk, 'Chinese characters render as identical boxes (no CJK font installed?)')
  }
}

async function lookup(page, number, password) {
  await page.goto(`${HALL}#/lookup`)
  await page.locator(inputOf('lookup-number')).fill(number)
  await page.locator(inputOf('lookup-password')).fill(password)
  await page.locator(byTestId('lookup-submit')).click()
}

async function main() {
  mkdirSync(env.artifacts, { recursive: true })
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS })
  try {
    const context = await browser.newContext({ viewport: PHONE, locale: 'zh-CN', isMobile: true, hasTouch: true })
    const page = await context.newPage()
    page.setDefaultTimeout(20_000)
    const run = new Run(page)
    const { completed } = env.cases

    await run.step('guide', async () => {
      await page.goto(HALL)
      const card = page.locator(byTestId(`guide-matter-${env.implementCode}`))
      await card.waitFor()
      const name = (await card.locator('strong').innerText()).trim()
      await page.locator(inputOf('guide-search')).fill(name.slice(0, 4))
      await card.waitFor()
      await page.locator(inputOf('guide-search')).fill('不存在的事项名称')
      await card.waitFor({ state: 'detached' })
      await page.locator(inputOf('guide-search')).fill('')
      await card.waitFor()
    })

    await run.step('matter-guide', async () => {
      await page.locator(byTestId(`guide-matter-${env.implementCode}`)).click()
      await page.locator(byTestId('matter-name')).waitFor()
      await page.locator(byTestId('matter-materials'), { hasText: '申请书' }).waitFor()
      await page.locator(byTestId('matter-guide'), { hasText: '窗口' }).waitFor()
      await page.locator(byTestId('matter-apply')).waitFor()
    })

    await run.step('lookup-wrong-password', async () => {
      const wrong = completed.password === '000000' ? '111111' : '000000'
      await lookup(page, completed.number, wrong)
      const failed = (await page.locator(byTestId('lookup-failed')).innerText()).trim()
      // The same words for a case that does not exist: nothing is revealed.
      await lookup(page, `${completed.number.slice(0, 39)}9999`, wrong)
      const unknown = (await page.locator(byTestId('lookup-failed')).innerText()).trim()
      expect(failed === unknown, `wrong password says "${failed}", unknown case says "${unknown}"`)
    })

    await run.step('lookup-completed', async () => {
      await lookup(page, completed.number, completed.password)
      await page.locator(`${byTestId('lookup-state')}[data-state="completed"]`).waitFor()
      const steps = await page.locator(`${byTestId('lookup-history')} .el-timeline-item`).count()
      expect(steps >= 5, `the lookup shows ${steps} steps (register, accept, three steps)`)
    })

    await run.step('rating', async () => {
      await page.locator(byTestId('rating-submit')).click()
      await page.locator('.el-alert', { hasText: '请选择' }).waitFor()
      await page.locator(byTestId('rating-level-5')).click()
      for (const k of ['overall', 'efficiency', 'guide_accuracy', 'convenience', 'usability']) {
        await page.locator(`${byTestId(`rating-${k}`)} .el-rate__item`).nth(4).click()
      }
      await page.locator(inputOf('rating-comment')).fill('窗口办事效率高，服务热情。')
      await page.locator(byTestId('rating-submit')).click()
      await page.locator(byTestId('rating-done')).waitFor()
    })

    await run.step('apply-online', async () => {
      await page.goto(`${HALL}#/apply/${env.implementCode}`)
      await page.waitForURL(/\/sso\/usp\.do/)
      await page.locator('#loginname').fill(env.applicant)
      await page.locator('#password').fill(env.password)
      await page.locator('button[type=submit]').click()
      await page.waitForURL(/\/hall\//)
      await page.locator(byTestId('apply-form')).waitFor()
      await page.locator(inputOf('applicant-name')).fill('赵六')
      await page.locator(inputOf('applicant-id-number')).fill('440524188001010014')
      await page.locator(inputOf('applicant-mobile')).fill('13800138000')
      await page.locator(byTestId('apply-submit')).click()
      await page.locator(byTestId('apply-missing')).waitFor() // the required upload is missing
      await page.locator(byTestId('apply-file-0')).setInputFiles({
        name: '申请书.pdf', mimeType: 'application/pdf', buffer: env.pdf })
      await page.locator(byTestId('apply-uploaded-0')).waitFor()
      await page.locator(byTestId('apply-submit')).click()
      const number = (await page.locator(byTestId('apply-number')).innerText()).trim()
      const password = (await page.locator(byTestId('apply-password')).innerText()).trim()
      expect(number.length === 43 && /^\d{6}$/.test(password), `online receipt ${number} / ${password}`)
      await lookup(page, number, password)
      await page.locator(`${byTestId('lookup-state')}[data-state="registered"]`).waitFor()
    })

    expect(run.problems.length === 0, `the browser console reported: ${run.problems.join(' | ')}`)
    console.log(`hall e2e passed: ${run.count} steps, screenshots in ${env.artifacts}`)
  } finally {
    await browser.close()
  }
}

main().catch((error) => {
  console.error(`hall e2e FAILED: ${error.message}`)
  process.exit(1)
})
