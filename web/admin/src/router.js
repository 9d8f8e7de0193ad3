// Pages of the console. Hash history: the server only has to serve index.html
// at /sso/admin/, and every page is a bookmarkable /sso/admin/#/<page>.
import { createRouter, createWebHashHistory } from 'vue-router'
import {
  Connection,
  DataLine,
  Document,
  Grid,
  Odometer,
  OfficeBuilding,
  Promotion,
  User,
  UserFilled,
} from '@element-plus/icons-vue'

export const PAGES = [
  { path: '/', name: 'dashboard', icon: Odometer, view: () => import('./views/DashboardView.vue') },
  { path: '/orgs', name: 'orgs', icon: OfficeBuilding, view: () => import('./views/OrgsView.vue') },
  { path: '/users', name: 'users', icon: User, view: () => import('./views/UsersView.vue') },
  { path: '/apps', name: 'apps', icon: Grid, view: () => import('./views/AppsView.vue') },
  {
    path: '/citizens',
    name: 'citizens',
    icon: UserFilled,
    view: () => import('./views/CitizensView.vue'),
  },
  {
    path: '/sessions',
    name: 'sessions',
    icon: Connection,
    view: () => import('./views/SessionsView.vue'),
  },
  {
    path: '/outbox',
    name: 'outbox',
    icon: Promotion,
    view: () => import('./views/OutboxView.vue'),
  },
  {
    path: '/exchange',
    name: 'exchange',
    icon: DataLine,
    view: () => import('./views/ExchangeView.vue'),
  },
  { path: '/audit', name: 'audit', icon: Document, view: () => import('./views/AuditView.vue') },
]

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    ...PAGES.map((page) => ({ path: page.path, name: page.name, component: page.view })),
    { path: '/:unknown(.*)*', redirect: '/' },
  ],
})
