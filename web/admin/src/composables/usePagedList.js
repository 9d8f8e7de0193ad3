// State of one server-paged list (`{total, items}` replies with page/size):
// the list pages bind ElTable and ListPager to it.
import { reactive, ref } from 'vue'

export function usePagedList(fetchPage, { size = 20 } = {}) {
  const items = ref([])
  const total = ref(0)
  const capped = ref(false)
  const loading = ref(false)
  const paging = reactive({ page: 1, size })
  let latest = 0

  // Only the newest request's reply is shown (an older one may arrive later).
  async function load() {
    const request = ++latest
    loading.value = true
    try {
      const reply = await fetchPage({ page: paging.page, size: paging.size })
      if (request !== latest) return
      items.value = reply.items
      total.value = reply.total
      capped.value = Boolean(reply.total_capped)
    } finally {
      if (request === latest) loading.value = false
    }
  }

  // A new query starts again at page 1.
  function reload() {
    paging.page = 1
    return load()
  }

  return { items, total, capped, loading, paging, load, reload }
}
