/* A TCP delay proxy for the bench (bench/tickets.sh): every chunk read from
 * either side is delivered to the other DELAY_MS after it arrived, order kept
 * per direction, so a Redis on loopback behaves as one a network hop away.
 * The Python proxy (tests/integration/delay_proxy.py) stays for the tests;
 * at 20,000 calls a second its event loop was the bench's limit, this one is
 * a single epoll thread with a nanosecond timer and costs a read and a write
 * per chunk.
 *
 *   delay_proxy TARGET_PORT DELAY_MS    (prints "port N", runs until killed;
 *                                        SIGTERM prints its counters to stderr)
 *
 * Built by bench/tickets.sh with the system C compiler (no tongban code). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum { kReadMax = 65536 };

struct pair;

/* A chunk read from one side, to be written to the other at `due` (ns). A
 * chunk with eof set stands for the reader's end of stream. */
struct chunk {
  struct chunk *next;      /* in the timer queue, then in the direction's backlog */
  struct pair *pair;
  int dir;                 /* 0: client -> target, 1: target -> client */
  int eof;
  int64_t due;
  size_t len, off;
  char data[];
};

/* One proxied connection; fd[0] the client's socket, fd[1] the target's.
 * Direction d reads fd[d] and writes fd[1 - d]. */
struct pair {
  int fd[2];
  int closed;
  int queued;              /* chunks still referring to it */
  struct chunk *backlog[2], *backlog_tail[2]; /* due but not yet written */
  int want_out[2];         /* fd[s] waits to be writable */
  int reading[2];          /* fd[s] is read (until its end of stream) */
  int registered[2];       /* fd[s] is in the epoll set */
  struct pair *next_dead;  /* closed, freed by sweep() once no chunk refers to it */
};

/* epoll data: a tagged pointer. The listener and the timer are tags 1 and 2;
 * a socket is its pair with the side in the low bit. */
static int epfd, listen_fd, timer_fd, target_port;
static int64_t delay_ns, armed_for = -1;
static struct chunk *queue_head, *queue_tail;
static struct pair *dead;
static volatile sig_atomic_t stopping;
static uint64_t chunks_in, bytes_in, timer_fires, pairs_opened;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void arm(int64_t at) {
  if (at == armed_for) return;
  struct itimerspec its = {0};
  if (at > 0) {
    its.it_value.tv_sec = at / 1000000000;
    its.it_value.tv_nsec = at % 1000000000;
  }
  if (timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &its, NULL) != 0) die("timerfd_settime");
  armed_for = at;
}

/* Puts fd[side] in the epoll set for what it waits for, or takes it out
 * when it waits for nothing (a hung-up socket would be reported for ever). */
static void watch(struct pair *p, int side) {
  uint32_t events = (p->reading[side] ? EPOLLIN : 0) | (p->want_out[side] ? EPOLLOUT : 0);
  struct epoll_event ev = {.events = events};
  ev.data.u64 = (uint64_t)(uintptr_t)p | (uint64_t)side;
  int op = !events ? EPOLL_CTL_DEL : p->registered[side] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (!events && !p->registered[side]) return;
  if (epoll_ctl(epfd, op, p->fd[side], &ev) != 0) die("epoll_ctl");
  p->registered[side] = events != 0;
}

static void close_pair(struct pair *p) {
  if (p->closed) return;
  p->closed = 1;
  for (int s = 0; s < 2; ++s) {
    close(p->fd[s]); /* leaves the epoll set with it */
    struct chunk *c = p->backlog[s];
    while (c) {
      struct chunk *n = c->next;
      free(c);
      --p->queued;
      c = n;
    }
    p->backlog[s] = p->backlog_tail[s] = NULL;
  }
  p->next_dead = dead;
  dead = p;
}

static void release(struct chunk *c) {
  --c->pair->queued;
  free(c);
}

/* Frees closed pairs no chunk refers to; runs between batches of events, so
 * an event of the same batch never finds its pair freed. */
static void sweep(void) {
  struct pair **at = &dead;
  while (*at) {
    struct pair *p = *at;
    if (p->queued == 0) {
      *at = p->next_dead;
      free(p);
    } else {
      at = &p->next_dead;
    }
  }
}

/* Writes what direction d has due; keeps the rest, waiting for EPOLLOUT. */
static void flush_dir(struct pair *p, int d) {
  int out = 1 - d;
  while (!p->closed && p->backlog[d]) {
    struct chunk *c = p->backlog[d];
    if (c->eof) {
      close_pair(p); /* one side ended: end both, after everything it sent */
      return;
    }
    ssize_t n = send(p->fd[out], c->data + c->off, c->len - c->off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      close_pair(p);
      return;
    }
    c->off += (size_t)n;
    if (c->off < c->len) break;
    p->backlog[d] = c->next;
    if (!p->backlog[d]) p->backlog_tail[d] = NULL;
    release(c);
  }
  if (p->closed) return;
  int want = p->backlog[d] != NULL;
  if (want != p->want_out[out]) {
    p->want_out[out] = want;
    watch(p, out);
  }
}

static void deliver_due(void) {
  int64_t now = now_ns();
  while (queue_head && queue_head->due <= now) {
    struct chunk *c = queue_head;
    queue_head = c->next;
    if (!queue_head) queue_tail = NULL;
    c->next = NULL;
    struct pair *p = c->pair;
    if (p->closed) {
      release(c);
      continue;
    }
    int d = c->dir;
    if (p->backlog_tail[d]) p->backlog_tail[d]->next = c;
    else p->backlog[d] = c;
    p->backlog_tail[d] = c;
    if (p->backlog[d] == c) flush_dir(p, d);
  }
  arm(queue_head ? queue_head->due : 0);
}

static void enqueue(struct pair *p, int dir, const char *data, size_t len, int eof) {
  struct chunk *c = malloc(sizeof *c + len);
  if (!c) die("malloc");
  c->next = NULL;
  c->pair = p;
  c->dir = dir;
  c->eof = eof;
  c->due = now_ns() + delay_ns;
  c->len = len;
  c->off = 0;
  if (len) memcpy(c->data, data, len);
  ++p->queued;
  /* The delay is the same for every chunk, so the queue stays in due order. */
  if (queue_tail) queue_tail->next = c;
  else queue_head = c;
  queue_tail = c;
  if (queue_head == c) arm(c->due);
}

static int add_fd(int fd, uint64_t tag) {  /* the listener and the timer */
  struct epoll_event ev = {.events = EPOLLIN};
  ev.data.u64 = tag;
  return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void accept_one(void) {
  int c = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (c < 0) return;
  int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); /* a blocking connect: loopback */
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)target_port)};
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (t < 0 || connect(t, (struct sockaddr *)&to, sizeof to) != 0) {
    if (t >= 0) close(t);
    close(c);
    return;
  }
  int one = 1;
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct pair *p = calloc(1, sizeof *p);
  if (!p) die("calloc");
  p->fd[0] = c;
  p->fd[1] = t;
  if (fcntl(t, F_SETFL, fcntl(t, F_GETFL) | O_NONBLOCK) != 0) die("fcntl");
  for (int s = 0; s < 2; ++s) {
    p->reading[s] = 1;
    watch(p, s);
  }
  ++pairs_opened;
}

static void on_stop(int sig) {
  (void)sig;
  stopping = 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: delay_proxy TARGET_PORT DELAY_MS\n");
    return 2;
  }
  target_port = atoi(argv[1]);
  delay_ns = (int64_t)(atof(argv[2]) * 1e6);
  prctl(PR_SET_TIMERSLACK, 1UL); /* the timer fires on time, not up to 50 us late */
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {.sa_handler = on_stop};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      listen(listen_fd, 128) != 0 || getsockname(listen_fd, (struct sockaddr *)&a, &alen) != 0) {
    die("listen");
  }
  timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (timer_fd < 0 || epfd < 0) die("timerfd/epoll");
  if (add_fd(listen_fd, 1) || add_fd(timer_fd, 2)) die("epoll_ctl");
  printf("port %d\n", ntohs(a.sin_port));
  fflush(stdout);

  static char buf[kReadMax];
  struct epoll_event evs[64];
  while (!stopping) {
    int n = epoll_wait(epfd, evs, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      uint64_t tag = evs[i].data.u64;
      if (tag == 1) {
        accept_one();
        continue;
      }
      if (tag == 2) {
        uint64_t fires;
        if (read(timer_fd, &fires, sizeof fires) > 0) ++timer_fires;
        armed_for = -1; /* a fired timer is disarmed */
        deliver_due();
        continue;
      }
      struct pair *p = (struct pair *)(uintptr_t)(tag & ~(uint64_t)1);
      int side = (int)(tag & 1);
      if (p->closed) continue;
      if (evs[i].events & EPOLLOUT) {
        flush_dir(p, 1 - side);
        if (p->closed) continue;
      }
      if (p->reading[side] && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        ssize_t r = recv(p->fd[side], buf, sizeof buf, 0);
        if (r > 0) {
          ++chunks_in;
          bytes_in += (uint64_t)r;
          enqueue(p, side, buf, (size_t)r, 0);
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          /* stop reading this side; its end of stream follows its data */
          p->reading[side] = 0;
          watch(p, side);
          enqueue(p, side, NULL, 0, 1);
        }
      }
    }
    /* a chunk whose time came while we were busy goes now, not at the next wake */
    if (queue_head && queue_head->due <= now_ns()) deliver_due();
    if (dead) sweep();
  }
  fprintf(stderr, "delay proxy: %llu chunks (%llu bytes) in, %llu timer wakes, %llu connections\n",
          (unsigned long long)chunks_in, (unsigned long long)bytes_in,
          (unsigned long long)timer_fires, (unsigned long long)pairs_opened);
  return 0;
}
