// Pages of the workbench and the roles that see them in the menu (the API
// checks again). Hash history: the server only serves index.html at /approval/,
// and every page is a bookmarkable /approval/#/<page>.
import { createRouter, createWebHashHistory } from 'vue-router'
import {
  Calendar,
  Checked,
  DataAnalysis,
  DocumentAdd,
  Finished,
  List,
  Memo,
  User,
  Warning,
} from '@element-plus/icons-vue'

const HANDLERS = ['accept', 'undertake', 'review', 'approve']

export const PAGES = [
  { path: '/intake', name: 'intake', icon: DocumentAdd, roles: ['intake'],
    view: () => import('./views/IntakeMattersView.vue') },
  { path: '/acceptance', name: 'acceptance', icon: Checked, roles: ['accept'],
    view: () => import('./views/AcceptanceView.vue') },
  { path: '/todo', name: 'todo', icon: List, roles: HANDLERS,
    view: () => import('./views/TodoView.vue'), props: { kind: 'todo' } },
  { path: '/done', name: 'done', icon: Finished, roles: [...HANDLERS, 'intake'],
    view: () => import('./views/TodoView.vue'), props: { kind: 'done' } },
  { path: '/matters', name: 'matters', icon: Memo, roles: ['matters'],
    view: () => import('./views/MattersView.vue') },
  { path: '/calendar', name: 'calendar', icon: Calendar, roles: ['matters', 'supervise'],
    view: () => import('./views/CalendarView.vue') },
  { path: '/supervision', name: 'supervision', icon: Warning, roles: ['supervise'],
    view: () => import('./views/SupervisionView.vue') },
  { path: '/statistics', name: 'statistics', icon: DataAnalysis, roles: ['supervise', 'matters'],
    view: () => import('./views/StatisticsView.vue') },
  { path: '/profile', name: 'profile', icon: User, roles: null,
    view: () => import('./views/ProfileView.vue') },
]

// The pages a user with these role codes sees; null roles = everyone.
export function pagesFor(roles) {
  return PAGES.filter((page) => !page.roles || page.roles.some((r) => roles.has(r)))
}

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', name: 'home', component: { render: () => null } },
    ...PAGES.map((page) => ({
      path: page.path,
      name: page.name,
      component: page.view,
      props: page.props || false,
    })),
    { path: '/intake/:code', name: 'register', component: () => import('./views/RegisterView.vue'),
      props: true },
    { path: '/cases/:number', name: 'case', component: () => import('./views/CaseView.vue'),
      props: true },
    { path: '/:unknown(.*)*', redirect: '/' },
  ],
})
