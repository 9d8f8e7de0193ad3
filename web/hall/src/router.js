// Pages of the hall. Hash history: the server only serves index.html at /hall/,
// the QR code on a notice can point at /hall/#/lookup?number=…, and a payment
// channel sends the payer back to /hall/#/pay/<notice number>?returned=1.
import { createRouter, createWebHashHistory } from 'vue-router'

export const router = createRouter({
  history: createWebHashHistory(),
  scrollBehavior: () => ({ top: 0 }),
  routes: [
    { path: '/', name: 'guide', component: () => import('./views/GuideView.vue') },
    { path: '/matters/:code', name: 'matter', component: () => import('./views/MatterView.vue'), props: true },
    { path: '/apply/:code', name: 'apply', component: () => import('./views/ApplyView.vue'), props: true },
    { path: '/lookup', name: 'lookup', component: () => import('./views/LookupView.vue') },
    { path: '/pay', name: 'pay', component: () => import('./views/PayView.vue') },
    { path: '/pay/:noticeNo', name: 'notice', component: () => import('./views/NoticeView.vue'), props: true },
    { path: '/:unknown(.*)*', redirect: '/' },
  ],
})
