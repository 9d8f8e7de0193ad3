// The Element Plus parts the hall uses, registered one by one so that the
// bundle carries only these (the full stylesheet is imported once in main.js).
import {
  ElAlert,
  ElButton,
  ElCard,
  ElConfigProvider,
  ElDescriptions,
  ElEmpty,
  ElForm,
  ElInput,
  ElLoading,
  ElProgress,
  ElRadio,
  ElRate,
  ElResult,
  ElSelect,
  ElTag,
  ElTimeline,
} from 'element-plus'

const PLUGINS = [
  ElAlert,
  ElButton,
  ElCard,
  ElConfigProvider,
  ElDescriptions,
  ElEmpty,
  ElForm,
  ElInput,
  ElLoading,
  ElProgress,
  ElRadio,
  ElRate,
  ElResult,
  ElSelect,
  ElTag,
  ElTimeline,
]

export function installElement(app) {
  for (const plugin of PLUGINS) app.use(plugin)
}
