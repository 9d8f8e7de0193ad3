// A yes/no question before a destructive or security-relevant action.
import { ElMessageBox } from 'element-plus'
import { useI18n } from 'vue-i18n'

export function useConfirm() {
  const { t } = useI18n()
  return async function confirm(message) {
    try {
      await ElMessageBox.confirm(message, t('common.confirmTitle'), {
        type: 'warning',
        confirmButtonText: t('common.confirm'),
        cancelButtonText: t('common.cancel'),
        confirmButtonClass: 'tb-confirm-ok',
        cancelButtonClass: 'tb-confirm-cancel',
      })
      return true
    } catch {
      return false // cancelled or closed: nothing to do
    }
  }
}
