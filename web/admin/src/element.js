// The Element Plus parts the console uses, registered one by one so that the
// bundle carries only these (the full stylesheet is imported once in main.js).
// Each plugin also registers its sub-components (ElForm → ElFormItem, ElTable →
// ElTableColumn, ElRadio → ElRadioGroup/ElRadioButton, ElContainer → ElAside …).
import {
  ElAlert,
  ElButton,
  ElCard,
  ElCheckbox,
  ElConfigProvider,
  ElContainer,
  ElDatePicker,
  ElDescriptions,
  ElDialog,
  ElDrawer,
  ElDropdown,
  ElEmpty,
  ElForm,
  ElIcon,
  ElInput,
  ElLoading,
  ElMenu,
  ElPagination,
  ElRadio,
  ElSelect,
  ElSwitch,
  ElTable,
  ElTabs,
  ElTag,
  ElTree,
} from 'element-plus'

const PLUGINS = [
  ElAlert,
  ElButton,
  ElCard,
  ElCheckbox,
  ElConfigProvider,
  ElContainer,
  ElDatePicker,
  ElDescriptions,
  ElDialog,
  ElDrawer,
  ElDropdown,
  ElEmpty,
  ElForm,
  ElIcon,
  ElInput,
  ElLoading,
  ElMenu,
  ElPagination,
  ElRadio,
  ElSelect,
  ElSwitch,
  ElTable,
  ElTabs,
  ElTag,
  ElTree,
]

export function installElement(app) {
  for (const plugin of PLUGINS) app.use(plugin)
}
