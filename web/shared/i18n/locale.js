// The language of a tongban web app: Chinese by default, English on request;
// the choice is kept in localStorage under the app's own key. Element Plus
// follows through `elementLocale`. One app per page: createLocale is called
// once, by the app's i18n/index.js, and setLocale acts on that app.
import { computed } from 'vue'
import { createI18n } from 'vue-i18n'
import elementZhCn from 'element-plus/es/locale/lang/zh-cn'
import elementEn from 'element-plus/es/locale/lang/en'

export const LOCALES = [
  { code: 'zh-CN', label: '中文' },
  { code: 'en', label: 'English' },
]

const ELEMENT_LOCALES = { 'zh-CN': elementZhCn, en: elementEn }

let current = null // { i18n, storageKey } of this page's app

// Element Plus's messages in the app's language (read after createLocale).
export const elementLocale = computed(() => ELEMENT_LOCALES[current?.i18n.global.locale.value ?? 'zh-CN'])

export function createLocale(storageKey, messages) {
  const saved = window.localStorage.getItem(storageKey)
  const i18n = createI18n({
    legacy: false,
    locale: LOCALES.some((l) => l.code === saved) ? saved : 'zh-CN',
    fallbackLocale: 'zh-CN',
    messages,
  })
  document.documentElement.lang = i18n.global.locale.value
  current = { i18n, storageKey }
  return { i18n, elementLocale }
}

export function setLocale(code) {
  current.i18n.global.locale.value = code
  window.localStorage.setItem(current.storageKey, code)
  document.documentElement.lang = code
}
