// Hall language: Chinese by default, English on request (@shared/i18n/locale.js).
import { createLocale } from '@shared/i18n/locale.js'
import zhCN from './zh-CN.js'
import en from './en.js'

export { LOCALES, setLocale } from '@shared/i18n/locale.js'

export const { i18n, elementLocale } = createLocale('tongban.hall.locale', { 'zh-CN': zhCN, en })
