// End-to-end test of the approval workbench in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core). Run by
// tests/integration/test_approval_web_e2e.py against a real tongban whose
// directory has the users below with their approval roles; by hand:
//
//   BASE_URL=http://127.0.0.1:8080 PASSWORD=... ARTIFACTS=/tmp/shots \
//   ORG=001001 DIVISION=110105 IMPLEMENT_CODE=<31 chars> PDF_FILE=/tmp/a.pdf \
//   CLERK=clerk ACCEPTOR=acceptor HANDLERS=h1,h2,h3 MANAGER=manager NOROLE=nobody \
//   OUT_FILE=/tmp/case.json node web/approval/e2e/workbench.e2e.mjs
//
// The flow of issue 15: a matter administrator creates the matter with three
// steps; a clerk registers a case with an uploaded PDF from the keyboard (check
// digits as typed, visible focus); an acceptor accepts it (受理通知书 PDF); three
// handlers each add a 常用意见 and agree with it; a refusal and a correction
// path; a user without a role sees nothing and gets 403 from the API; the
// supervisor's pages (calendar, supervision, statistics) and English. Each step
// ends with a screenshot in ARTIFACTS; OUT_FILE receives the completed case's
// number and lookup password for the hall's e2e. Exits 1 naming the failed step.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { checkCreditCode, checkResidentId, creditCodeCheckChar, residentIdCheckChar } from '../../shared/utils/idcheck.js'

const VIEWPORT = { width: 1366, height: 768 }
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

function requiredEnv(name) {
  const value = process.env[name]
  if (!value) throw new Error(`environment variable ${name} is not set`)
  return value
}

const env = {
  base: requiredEnv('BASE_URL').replace(/\/+$/, ''),
  password: requiredEnv('PASSWORD'),
  artifacts: requiredEnv('ARTIFACTS'),
  org: requiredEnv('ORG'),
  division: requiredEnv('DIVISION'),
  implementCode: requiredEnv('IMPLEMENT_CODE'),
  pdf: readFileSync(requiredEnv('PDF_FILE')),
  clerk: requiredEnv('CLERK'),
  acceptor: requiredEnv('ACCEPTOR'),
  handlers: requiredEnv('HANDLERS').split(','),
  manager: requiredEnv('MANAGER'),
  norole: requiredEnv('NOROLE'),
  outFile: requiredEnv('OUT_FILE'),
}
const WORKBENCH = `${env.base}/approval/`
const API = `${env.base}/approval/api/`
const byTestId = (id) => `[data-testid="${id}"]`
const inputOf = (id) => `input${byTestId(id)}, ${byTestId(id)} input, textarea${byTestId(id)}, ${byTestId(id)} textarea`
const MATTER_NAME = `建筑工程施工许可证核发${Date.now().toString(36)}`

function expect(condition, message) {
  if (!condition) throw new Error(message)
}

// The check-digit rules, without a unit-test framework: known-good numbers
// from the standards' examples pass, one changed character fails.
function selfCheckIdentityRules() {
  expect(checkResidentId('11010519491231002X') === '', 'GB 11643: the standard example fails')
  expect(checkResidentId('110105194912310021') === 'checkDigit', 'GB 11643: a wrong check digit passes')
  expect(checkResidentId('11010519491331002X') === 'birthDate', 'GB 11643: month 13 passes')
  expect(residentIdCheckChar('44052418800101001') === '4', 'GB 11643: check char of 44052418800101001')
  expect(checkCreditCode('91350100M000100Y43') === '', 'GB 32100: a valid USCC fails')
  expect(checkCreditCode('91350100M000100Y44') === 'checkDigit', 'GB 32100: a wrong check char passes')
  expect(checkCreditCode('91350100M000100Y4') === 'tooShort', 'GB 32100: 17 characters pass')
  expect(checkCreditCode('91350100M0001O0Y43') === 'badChars', 'GB 32100: the letter O passes')
  expect(creditCodeCheckChar('91350100M000100Y4') === '3', 'GB 32100: check char of the example')
}

class Run {
  constructor(browser) {
    this.browser = browser
    this.count = 0
    this.problems = []
    this.page = null
  }

  async as(loginname, viewport = VIEWPORT) {
    if (this.context) await this.context.close()
    this.context = await this.browser.newContext({ viewport, locale: 'zh-CN' })
    const page = await this.context.newPage()
    page.setDefaultTimeout(20_000)
    page.on('console', (message) => {
      const text = message.text()
      if (message.type() === 'error' && !/Failed to load resource/.test(text)) this.problems.push(text)
    })
    page.on('pageerror', (error) => this.problems.push(`page error: ${error.message}`))
    this.page = page
    await page.goto(WORKBENCH)
    await page.waitForURL(/\/sso\/usp\.do/)
    await page.locator('#loginname').fill(loginname)
    await page.locator('#password').fill(env.password)
    await page.locator('button[type=submit]').click()
    await page.waitForURL(/\/approval\//)
    return page
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
      await this.screenshot(`${label}-failed.png`).catch(() => {})
      throw new Error(`step ${label}: ${error.message}`)
    }
  }

  screenshot(file) {
    return this.page.screenshot({ path: join(env.artifacts, file), animations: 'disabled', fullPage: true })
  }

  shot(suffix) {
    return this.screenshot(`${this.label}-${suffix}.png`)
  }

  // Fits the screen, every component rendered, and Chinese is drawn with a real
  // font: two different characters drawn as the same box mean no CJK font.
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
        cjk: draw('审') !== draw('批'),
      }
    })
    expect(scroll <= inner, `horizontal scrolling: page ${scroll}px wide, window ${inner}px`)
    expect(!unresolved.length, `components not registered: ${[...new Set(unresolved)].join(', ')}`)
    expect(cjk, 'Chinese characters render as identical boxes (no CJK font installed?)')
  }
}

async function nav(page, name, readyTestId) {
  await page.locator(byTestId(`nav-${name}`)).click()
  await page.locator(byTestId(readyTestId)).first().waitFor()
}

async function success(page, text) {
  await page.locator('.el-message--success', { hasText: text }).first().waitFor()
}

// The API answers with the browser's session cookie; `fetchFile` checks a PDF.
async function fetchPdf(page, url) {
  const response = await page.request.get(url)
  expect(response.ok(), `GET ${url}: HTTP ${response.status()}`)
  const body = await response.body()
  expect(body.subarray(0, 5).toString() === '%PDF-', `GET ${url} is not a PDF`)
  return body
}

async function registerCase(run, { applicantName, paper }) {
  const { page } = run
  await nav(page, 'intake', 'intake-matters')
  await page.locator(inputOf('intake-search')).fill(MATTER_NAME.slice(0, 6))
  await page.locator(byTestId(`intake-new-${env.implementCode}`)).click()
  await page.locator(byTestId('register-form')).waitFor()
  await page.locator(inputOf('applicant-name')).fill(applicantName)
  await page.locator(inputOf('applicant-id-number')).fill('11010519491231002X')
  await page.locator(inputOf('applicant-mobile')).fill('13912345678')
  if (paper) {
    await page.locator(byTestId('material-received-0')).click()
  } else {
    await page.locator(`${byTestId('material-form-0')} label`, { hasText: '电子' }).click()
    await page.locator(byTestId('material-file-0')).setInputFiles({
      name: '申请书.pdf', mimeType: 'application/pdf', buffer: env.pdf })
    await page.locator(byTestId('material-uploaded-0')).waitFor()
  }
  await page.locator(byTestId('register-save')).click()
  return readReceipt(run)
}

async function readReceipt(run) {
  const { page } = run
  const number = (await page.locator(byTestId('receipt-number')).innerText()).trim()
  const password = (await page.locator(byTestId('receipt-password')).innerText()).trim()
  expect(number.length === 43 && number.startsWith(env.implementCode), `case number "${number}"`)
  expect(/^\d{6}$/.test(password), `lookup password "${password}"`)
  await run.shot('receipt')
  await page.locator(byTestId('receipt-done')).click()
  await page.locator(byTestId('intake-matters')).waitFor()
  expect(!(await page.locator('body').innerText()).includes(password), 'the password is still shown')
  return { number, password }
}

async function act(run, number, action, { opinion, common, missing } = {}) {
  const { page } = run
  await page.locator(byTestId(`case-action-${action}`)).click()
  await page.locator(byTestId('action-dialog')).waitFor()
  if (missing) await page.locator(byTestId('action-missing-0')).click()
  if (common !== undefined) await page.locator(byTestId(`action-common-${common}`)).click()
  if (opinion) await page.locator(inputOf('action-opinion')).fill(opinion)
  await run.shot(`dialog-${action}`)
  await page.locator(byTestId('action-submit')).click()
  await success(page, '已')
}

async function main() {
  selfCheckIdentityRules()
  mkdirSync(env.artifacts, { recursive: true })
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS })
  const run = new Run(browser)
  const cases = {}
  try {
    await run.step('matter-admin-creates-matter', async () => {
      const page = await run.as(env.manager)
      await nav(page, 'matters', 'matter-table')
      await page.locator(byTestId('matter-create')).click()
      await page.locator(inputOf('matter-form-name')).fill(MATTER_NAME)
      await page.locator(inputOf('matter-form-implement-code')).fill(env.implementCode)
      await page.locator(inputOf('matter-form-basic-code')).fill(env.implementCode.slice(19))
      await page.locator(inputOf('matter-form-org')).fill(env.org)
      await page.locator(inputOf('matter-form-division')).fill(env.division)
      await page.locator(inputOf('matter-form-guide')).fill('办理地点：政务服务中心二楼 12 号窗口；不收费。')
      await page.locator(byTestId('matter-form-online')).click()
      // Online: the real-name level an applicant's account needs; 不限 by default.
      const level = page.locator(byTestId('matter-form-min-authlevel'))
      await level.waitFor()
      expect((await level.innerText()).includes('不限'), 'the minimum real-name level defaults to 不限')
      await page.locator(byTestId('matter-material-add')).click()
      await page.locator(inputOf('matter-material-name-0')).fill('施工许可申请书')
      for (let i = 0; i < 3; i += 1) {
        const name = await page.locator(inputOf(`matter-step-name-${i}`)).inputValue()
        expect(['承办', '审核', '批准'][i] === name, `step ${i} is "${name}"`)
      }
      await run.shot('editor')
      await page.locator(byTestId('matter-form-submit')).click()
      await page.locator(byTestId(`matter-edit-${env.implementCode}`)).waitFor()
    })

    await run.step('calendar-mark-holiday', async () => {
      const { page } = run
      await nav(page, 'calendar', 'calendar')
      await page.locator(inputOf('calendar-division')).fill(env.division)
      await page.keyboard.press('Enter')
      const now = new Date()
      const day = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-15`
      await page.locator(byTestId(`calendar-day-${day}`)).click()
      await page.locator(byTestId('calendar-kind-holiday')).click()
      await page.locator(inputOf('calendar-note')).fill('测试假日')
      await page.locator(byTestId('calendar-save')).click()
      await page.locator(byTestId(`calendar-day-${day}`), { hasText: '测试假日' }).waitFor()
      await run.shot('marked')
      await page.locator(byTestId(`calendar-day-${day}`)).click()
      await page.locator(byTestId('calendar-clear')).click()
      await page.locator(byTestId(`calendar-day-${day}`), { hasText: '测试假日' }).waitFor({ state: 'detached' })
    })

    await run.step('clerk-intake-keyboard', async () => {
      const page = await run.as(env.clerk)
      await nav(page, 'intake', 'intake-matters')
      await page.locator(byTestId(`intake-new-${env.implementCode}`)).click()
      await page.locator(byTestId('register-form')).waitFor()
      // The applicant's name has the focus, and the focus is visible: an
      // outline or a ring (Element Plus fields draw borders as box-shadows) of
      // the focus colour #1a5fb4 (6.4:1 on white), at least 2px wide, read
      // once any transition of the field's box has finished.
      const focused = () => page.evaluate(async () => {
        const el = document.activeElement
        const box = el.closest('.el-input__wrapper, .el-select__wrapper') || el
        await Promise.all(box.getAnimations().map((a) => a.finished.catch(() => {})))
        const style = getComputedStyle(box)
        const FOCUS = 'rgb(26, 95, 180)'
        const outline = style.outlineStyle !== 'none' && style.outlineColor === FOCUS
          ? parseFloat(style.outlineWidth) : 0
        const shadow = style.boxShadow.match(/rgb\(26, 95, 180\) -?[\d.]+px -?[\d.]+px -?[\d.]+px (-?[\d.]+)px/)
        return { testid: el.closest('[data-testid]')?.dataset.testid || el.dataset.testid || '',
          width: Math.max(outline, shadow ? parseFloat(shadow[1]) : 0),
          ring: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor} / ${style.boxShadow}` }
      })
      let at = await focused()
      expect(at.testid === 'applicant-name', `the form opens with the focus on "${at.testid}"`)
      expect(at.width >= 2, `no visible focus ring on the name field: ${at.ring}`)
      await page.keyboard.type('张三')
      await page.keyboard.press('Tab')
      await page.keyboard.press('Tab')
      at = await focused()
      expect(at.testid === 'applicant-id-number', `Tab Tab lands on "${at.testid}", not the ID number`)
      expect(at.width >= 2, `no visible focus ring on the ID number field: ${at.ring}`)
      // A wrong check digit is reported as typed; the right one clears it.
      await page.keyboard.type('110105194912310021')
      await page.locator('.el-form-item__error', { hasText: '校验位不正确' }).waitFor()
      await run.shot('bad-id')
      await page.keyboard.press('Backspace')
      await page.keyboard.type('X')
      await page.locator('.el-form-item__error', { hasText: '校验位不正确' }).waitFor({ state: 'detached' })
      await page.keyboard.press('Tab')
      await page.keyboard.type('13912345678')
      // The legal-person form checks a USCC instead.
      await page.locator(byTestId('applicant-type-legal')).click()
      await page.locator(inputOf('applicant-id-number')).fill('91350100M000100Y44')
      await page.locator('.el-form-item__error', { hasText: '校验位不正确' }).waitFor()
      await page.locator(inputOf('applicant-id-number')).fill('91350100M000100Y43')
      await page.locator('.el-form-item__error', { hasText: '校验位不正确' }).waitFor({ state: 'detached' })
      await run.shot('uscc')
      await page.locator(byTestId('applicant-type-person')).click()
      await page.locator(inputOf('applicant-id-number')).fill('11010519491231002X')
      // The upload shows its progress and ends with the stored file.
      await page.locator(`${byTestId('material-form-0')} label`, { hasText: '电子' }).click()
      await page.locator(byTestId('material-file-0')).setInputFiles({
        name: '施工许可申请书.pdf', mimeType: 'application/pdf', buffer: env.pdf })
      await page.locator(byTestId('material-uploaded-0')).waitFor()
      // Ctrl+Enter saves from the keyboard.
      await page.locator(inputOf('applicant-mobile')).focus()
      await page.keyboard.press('Control+Enter')
      await page.locator(byTestId('receipt-number')).waitFor()
      cases.main = await readReceipt(run)
    })

    await run.step('clerk-registers-two-more', async () => {
      cases.refused = await registerCase(run, { applicantName: '李四', paper: true })
      cases.corrected = await registerCase(run, { applicantName: '王五', paper: true })
    })

    await run.step('acceptor-accepts', async () => {
      const page = await run.as(env.acceptor)
      await nav(page, 'acceptance', 'acceptance-table')
      await page.locator(byTestId(`accept-${cases.main.number}`)).click()
      await page.locator(inputOf('action-opinion')).fill('材料齐全，予以受理')
      await page.locator(byTestId('action-submit')).click()
      const link = page.locator(byTestId(`notice-acceptance-${cases.main.number}`))
      await link.waitFor()
      await fetchPdf(page, await link.evaluate((a) => a.href))
    })

    await run.step('acceptor-refuses', async () => {
      const { page } = run
      await page.locator(byTestId(`refuse-${cases.refused.number}`)).click()
      await page.locator(byTestId('action-submit')).click()
      await page.locator('.el-form-item__error', { hasText: '请填写理由' }).waitFor()
      await page.locator(inputOf('action-opinion')).fill('不属于本机关职权范围')
      await page.locator(byTestId('action-submit')).click()
      const link = page.locator(byTestId(`notice-refusal-${cases.refused.number}`))
      await link.waitFor()
      await fetchPdf(page, await link.evaluate((a) => a.href))
    })

    await run.step('acceptor-requests-correction', async () => {
      const { page } = run
      await page.locator(byTestId(`correct-${cases.corrected.number}`)).click()
      await page.locator(byTestId('action-missing-0')).click()
      await page.locator(inputOf('action-opinion')).fill('申请书缺少法定代表人签字')
      await page.locator(byTestId('action-submit')).click()
      const link = page.locator(byTestId(`notice-correction-${cases.corrected.number}`))
      await link.waitFor()
      await fetchPdf(page, await link.evaluate((a) => a.href))
      await page.goto(`${WORKBENCH}#/cases/${cases.corrected.number}`)
      await page.locator(`${byTestId('case-state')}[data-state="correction"]`).waitFor()
    })

    for (const [i, handler] of env.handlers.entries()) {
      await run.step(`handler-${i + 1}-agrees`, async () => {
        const page = await run.as(handler)
        const opinion = ['经审查，符合条件，拟同意。', '审核通过。', '同意，准予许可。'][i % 3]
        await nav(page, 'profile', 'opinions')
        await page.locator(inputOf('opinion-new')).fill('请补充说明')
        await page.locator(byTestId('opinion-add')).click()
        await page.locator(byTestId('opinion-text-0'), { hasText: '请补充说明' }).waitFor()
        await page.locator(inputOf('opinion-new')).fill(opinion)
        await page.locator(byTestId('opinion-add')).click()
        await page.locator(byTestId('opinion-text-1'), { hasText: opinion }).waitFor()
        await page.locator(byTestId('opinion-up-1')).click() // the chosen one first
        await page.locator(byTestId('opinion-text-0'), { hasText: opinion }).waitFor()
        // Edited in place (PUT preferences/opinions/:id): same row, the order kept.
        await page.locator(byTestId('opinion-edit-1')).click()
        await page.locator(inputOf('opinion-edit-input-1')).fill('请补充说明理由')
        await page.locator(byTestId('opinion-save-1')).click()
        await page.locator(byTestId('opinion-text-1'), { hasText: '请补充说明理由' }).waitFor()
        await page.locator(byTestId('opinion-text-0'), { hasText: opinion }).waitFor()
        await run.shot('opinions')
        await nav(page, 'todo', 'todo-table')
        const row = page.locator(`${byTestId('todo-table')} tr`, { hasText: cases.main.number })
        await row.locator('[data-light]').first().waitFor() // the light is on
        await page.locator(byTestId(`todo-open-${cases.main.number}`)).click()
        await page.locator(byTestId('case-number'), { hasText: cases.main.number }).waitFor()
        const file = page.locator(byTestId('case-file-0'))
        await fetchPdf(page, await file.evaluate((a) => a.href))
        await act(run, cases.main.number, 'agree', { common: 0 })
        await page.locator(byTestId('case-history'), { hasText: opinion }).waitFor()
      })
    }

    await run.step('case-completed', async () => {
      const { page } = run
      await page.locator(`${byTestId('case-state')}[data-state="completed"]`).waitFor()
      await page.locator(byTestId('case-notice-completion')).waitFor()
      await fetchPdf(page, await page.locator(byTestId('case-notice-completion')).evaluate((a) => a.href))
      await nav(page, 'done', 'done-table')
      await page.locator(byTestId(`done-open-${cases.main.number}`)).waitFor()
    })

    await run.step('no-role-user', async () => {
      const page = await run.as(env.norole)
      await page.locator(`${byTestId('forbidden')}, ${byTestId('no-roles')}`).first().waitFor()
      expect(!(await page.locator('[data-testid^="case-action-"]').count()), 'a user without a role sees actions')
      const todo = await page.request.get(`${API}todo`)
      expect(todo.status() === 403, `GET todo without a role: HTTP ${todo.status()}, expected 403`)
      const act403 = await page.request.post(`${API}cases/${cases.main.number}/actions`,
        { data: { action: 'void', opinion: 'x' } })
      expect([401, 403].includes(act403.status()), `POST actions without a role: HTTP ${act403.status()}`)
    })

    await run.step('supervision-and-statistics', async () => {
      const page = await run.as(env.manager)
      await nav(page, 'supervision', 'alert-counts')
      await page.locator(byTestId('alert-table')).waitFor()
      await run.shot('supervision')
      await nav(page, 'statistics', 'stats-table')
      await page.locator(`${byTestId('stats-charts')} svg[role=img]`).first().waitFor()
      const exported = await page.request.get(await page.locator(byTestId('stats-export')).evaluate((a) => a.href))
      expect(exported.ok(), `statistics.xlsx: HTTP ${exported.status()}`)
      const xlsx = await exported.body()
      expect(xlsx.subarray(0, 2).toString() === 'PK', 'statistics.xlsx is not an Office Open XML zip')
    })

    await run.step('english', async () => {
      const { page } = run
      await page.locator(byTestId('locale-switch')).click()
      await page.locator('.el-select-dropdown__item:visible', { hasText: 'English' }).click()
      await page.locator(byTestId('nav-statistics'), { hasText: 'Statistics' }).waitFor()
      await nav(page, 'matters', 'matter-table')
    })

    writeFileSync(env.outFile, JSON.stringify({ completed: cases.main, refused: cases.refused }))
    expect(run.problems.length === 0, `the browser console reported: ${run.problems.join(' | ')}`)
    console.log(`workbench e2e passed: ${run.count} steps, screenshots in ${env.artifacts}`)
  } finally {
    await browser.close()
  }
}

main().catch((error) => {
  console.error(`workbench e2e FAILED: ${error.message}`)
  process.exit(1)
})
