// Pages of the payment console and the roles that see them in the menu (the API
// checks again). Hash history: the server only serves index.html at /payment/.
import { createRouter, createWebHashHistory } from 'vue-router'
import { Bell, Coin, DocumentAdd, Files, List, OfficeBuilding, Refresh, Tickets, Upload } from '@element-plus/icons-vue'

const STAFF = ['clerk', 'admin', 'finance', 'egov', 'province']

export const PAGES = [
  { path: '/notices', name: 'notices', icon: List, roles: ['clerk', 'admin', 'finance'],
    view: () => import('./views/NoticesView.vue') },
  { path: '/new-notice', name: 'newNotice', icon: DocumentAdd, roles: ['clerk', 'admin'],
    view: () => import('./views/NewNoticeView.vue') },
  { path: '/import', name: 'import', icon: Upload, roles: ['clerk', 'admin'],
    view: () => import('./views/ImportView.vue') },
  { path: '/units', name: 'units', icon: OfficeBuilding, roles: STAFF,
    view: () => import('./views/UnitsView.vue') },
  { path: '/applications', name: 'applications', icon: Files, roles: STAFF,
    view: () => import('./views/ApplicationsView.vue') },
  { path: '/items', name: 'items', icon: Tickets, roles: STAFF,
    view: () => import('./views/ItemsView.vue') },
  { path: '/reconcile', name: 'reconcile', icon: Refresh, roles: ['admin', 'finance'],
    view: () => import('./views/ReconcileView.vue') },
  { path: '/refunds', name: 'refunds', icon: Coin, roles: ['admin', 'finance'],
    view: () => import('./views/RefundsView.vue') },
  { path: '/notifications', name: 'notifications', icon: Bell, roles: ['admin'],
    view: () => import('./views/NotificationsView.vue') },
]

export function pagesFor(roles) {
  return PAGES.filter((page) => !page.roles || page.roles.some((r) => roles.has(r)))
}

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', name: 'home', component: { render: () => null } },
    ...PAGES.map((page) => ({ path: page.path, name: page.name, component: page.view })),
    { path: '/notices/:noticeNo', name: 'notice', component: () => import('./views/NoticeView.vue'), props: true },
    { path: '/:unknown(.*)*', redirect: '/' },
  ],
})
