// Hall language: Chinese by default, English on request; the choice is kept
// in localStorage. Element Plus follows through `elementLocale`.
import { computed } from 'vue'
import { createI18n } from 'vue-i18n'
import elementZhCn from 'element-plus/es/locale/lang/zh-cn'
import elementEn from 'element-plus/es/locale/lang/en'
import zhCN from './zh-CN.js'
import en from './en.js'

const STORAGE_KEY = 'tongban.hall.locale'
const ELEMENT_LOCALES = { 'zh-CN': elementZhCn, en: elementEn }

export const LOCALES = [
  { code: 'zh-CN', label: '中文' },
  { code: 'en', label: 'English' },
]

function savedLocale() {
  const saved = window.localStorage.getItem(STORAGE_KEY)
  return LOCALES.some((l) => l.code === saved) ? saved : 'zh-CN'
}

export const i18n = createI18n({
  legacy: false,
  locale: savedLocale(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, en },
})

document.documentElement.lang = i18n.global.locale.value

export const elementLocale = computed(() => ELEMENT_LOCALES[i18n.global.locale.value])

export function setLocale(code) {
  i18n.global.locale.value = code
  window.localStorage.setItem(STORAGE_KEY, code)
  document.documentElement.lang = code
}
