// Hash routes of the catalogue pages (the server serves dist/ as files only).
import { createRouter, createWebHashHistory } from 'vue-router'

const routes = [
  { path: '/', component: () => import('./views/SearchView.vue') },
  { path: '/resources/:id', component: () => import('./views/ResourceView.vue'), props: true },
  { path: '/applications', component: () => import('./views/ApplicationsView.vue') },
  { path: '/approvals', component: () => import('./views/ApprovalsView.vue') },
  { path: '/grants', component: () => import('./views/GrantsView.vue') },
  { path: '/register', component: () => import('./views/RegisterView.vue') },
  { path: '/admin/tree', component: () => import('./views/AdminTreeView.vue') },
  { path: '/admin/review', component: () => import('./views/AdminReviewView.vue') },
  { path: '/admin/audit', component: () => import('./views/AdminAuditView.vue') },
]

export const router = createRouter({ history: createWebHashHistory(), routes })
