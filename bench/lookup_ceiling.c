/*
 * lookup_ceiling: the least any server of tongban's base query service must do
 * per lookup, as a yardstick for bench/catalogue_lookup.py (--ceiling; issue 17).
 * One thread, epoll, HTTP/1.1 keep-alive on 127.0.0.1. Per request to
 * POST /catalogue/api/base/person/query (bench/wrk/catalogue_lookup.lua's shape):
 *   1. parse the request line, Authorization and Content-Length, and the JSON
 *      body {"key": "...", "fields": ["...", ...]};
 *   2. authenticate: SHA-256 of the bearer token (tongban's ticket store keys
 *      hold hex digests of secrets, sso/cas_oidc_support.cc SecretKey) looked up
 *      in an in-memory hash table, expiry checked; the app's org comes with it;
 *   3. check the ID number (check character, real birth date not in the future),
 *      then read the live grant (the same SELECT as sharing.cc KeptLiveGrant)
 *      and the person's record (every column, as base.cc) from tongban's own
 *      SQLite database, prepared statements kept for the whole run;
 *   4. check the fields asked for against the grant and build the JSON answer
 *      tongban gives ({"code":0,"message":"成功","grant_id":..,"data":{..}}),
 *      ID number and mobile masked;
 *   5. the audit row (who, masked key + HMAC-SHA256 of the key, when, which
 *      grant, fields, outcome) INSERTed into catalogue_audit (its four indexes)
 *      in the same database, with WAL and synchronous=NORMAL as store/sql_store.cc,
 *      and committed BEFORE the answer leaves: the most favourable legal batching,
 *      every request read in one epoll round shares one transaction (the reads
 *      too, as tongban's audit writer does), one COMMIT per round, then every
 *      answer of the round is written;
 *   6. answer. GET /stats (any token) answers the process's CPU time and counts;
 *      SIGTERM prints the same line on stdout and exits.
 * What it leaves out (not needed by a conforming server): routing tables, XML /
 * SOAP, the staff session path, logging, a thread pool, checkpoints on a thread
 * of their own (SQLite's automatic checkpoint runs inside the COMMIT, every
 * 10,000 WAL pages as tongban's threshold), Cache-Control and the other API
 * headers tongban adds, error answers (the bench sends only good requests).
 *
 * Modes (third argument): "sqlite" (the above), "none" (step 5 skipped: no
 * audit at all; the round's reads still share one read transaction), "journal"
 * (step 5 as one write() per round of the round's audit rows, tab-separated
 * lines, to an O_APPEND file: as durable as WAL with synchronous=NORMAL, i.e. it
 * survives kill -9 and not a power cut; "the journal design").
 *
 *   lookup_ceiling DB TOKEN MODE [JOURNAL_FILE]   (prints "port N"; TOKEN is the
 *        bearer token it accepts, for app benchsys of org 001092 as the bench's)
 *   env LOOKUP_CEILING_MMAP=<bytes>: PRAGMA mmap_size (tongban sets none);
 *       LOOKUP_CEILING_AUTOCHECKPOINT=<pages>: instead of 10,000 (0: none).
 * Build: cc -O2 -o lookup_ceiling lookup_ceiling.c -lsqlite3 -lcrypto
 * (-lcrypto: SHA-256 of the token and the audit row's HMAC, as tongban).
 * Run by: bench/catalogue_lookup.py --ceiling (docs/performance.md, session 12).
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MODE_SQLITE, MODE_NONE, MODE_JOURNAL };
#define BUF 65536
#define MAX_FD 4096

struct conn {
  char in[BUF];
  size_t have;
  char out[BUF];
  size_t out_len, out_sent;
  int waiting; /* registered for EPOLLOUT */
};
static struct conn *conns[MAX_FD];
static int mode, journal_fd = -1;
static sqlite3 *db;
static sqlite3_stmt *grant_st, *person_st, *audit_st;
static long long requests, rows, commits; /* answered, audit rows written, COMMITs or journal writes */
static volatile sig_atomic_t stop;
static const char audit_key[] = "lookup-ceiling-audit-key-0123456789abcdef";

/* The token table: hex SHA-256 of the token -> the grant it stands for. */
struct token {
  char digest[65];
  char client_id[32], org[16];
  long long expires_ms;
};
#define TOKEN_SLOTS 1024
static struct token tokens[TOKEN_SLOTS];

static void die(const char *what, const char *detail) {
  fprintf(stderr, "lookup_ceiling: %s: %s\n", what, detail);
  exit(1);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void hex(const unsigned char *p, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
}

/* SHA-256 and HMAC-SHA256 as tongban's crypto/digest.cc: the digest fetched
 * once, one kept context, HMAC by RFC 2104 over it (OpenSSL 3's one-shot
 * EVP_Digest / HMAC fetch the algorithm on every call: ~3 us more a lookup). */
static EVP_MD *sha256;
static EVP_MD_CTX *md_ctx;

static void sha256_hex(const char *p, size_t n, char out[65]) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestInit_ex2(md_ctx, sha256, NULL);
  EVP_DigestUpdate(md_ctx, p, n);
  EVP_DigestFinal_ex(md_ctx, md, &len);
  hex(md, 32, out);
}

static void hmac_sha256(const char *key, size_t key_len, const char *p, size_t n,
                        unsigned char out[32]) {
  unsigned char pad[64], inner[32];
  unsigned int len = 0;
  memset(pad, 0x36, 64);
  for (size_t i = 0; i < key_len && i < 64; ++i) pad[i] ^= (unsigned char)key[i];
  EVP_DigestInit_ex2(md_ctx, sha256, NULL);
  EVP_DigestUpdate(md_ctx, pad, 64);
  EVP_DigestUpdate(md_ctx, p, n);
  EVP_DigestFinal_ex(md_ctx, inner, &len);
  memset(pad, 0x5c, 64);
  for (size_t i = 0; i < key_len && i < 64; ++i) pad[i] ^= (unsigned char)key[i];
  EVP_DigestInit_ex2(md_ctx, sha256, NULL);
  EVP_DigestUpdate(md_ctx, pad, 64);
  EVP_DigestUpdate(md_ctx, inner, 32);
  EVP_DigestFinal_ex(md_ctx, out, &len);
}

static unsigned slot_of(const char *digest) {
  unsigned h = 0;
  for (int i = 0; i < 8; ++i) h = h * 16 + (unsigned)(digest[i] <= '9' ? digest[i] - '0' : digest[i] - 'a' + 10);
  return h % TOKEN_SLOTS;
}

static const struct token *find_token(const char *p, size_t n) {
  char digest[65];
  sha256_hex(p, n, digest);
  for (unsigned i = slot_of(digest), k = 0; k < TOKEN_SLOTS; ++k, i = (i + 1) % TOKEN_SLOTS) {
    if (tokens[i].digest[0] == '\0') return NULL;
    if (memcmp(tokens[i].digest, digest, 64) == 0) {
      return tokens[i].expires_ms > now_ms() ? &tokens[i] : NULL;
    }
  }
  return NULL;
}

/* directory/validators.cc ParseResidentId: 17 digits, check character, a real
 * birth date after 1800 and not in the future (province codes not checked). */
static int valid_id(const char *id, size_t n) {
  static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  if (n != 18) return 0;
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    if (id[i] < '0' || id[i] > '9') return 0;
    sum += (id[i] - '0') * w[i];
  }
  char check = id[17] == 'x' ? 'X' : id[17];
  if (check != "10X98765432"[sum % 11]) return 0;
  int y = atoi((char[5]){id[6], id[7], id[8], id[9], 0}), m = (id[10] - '0') * 10 + id[11] - '0',
      d = (id[12] - '0') * 10 + id[13] - '0';
  static const int days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1800 || m < 1 || m > 12 || d < 1 || d > days[m - 1]) return 0;
  if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 0;
  time_t t = time(NULL) + 8 * 3600; /* today in China */
  struct tm tm;
  gmtime_r(&t, &tm);
  return y * 10000 + m * 100 + d <= (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* The JSON body: an object whose "key" is a string and "fields" an array of
 * strings (other members skipped if they are strings or numbers). Strings
 * with escapes are refused (an ID number and field codes have none). */
static const char *skip_ws(const char *p, const char *e) {
  while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) ++p;
  return p;
}
static const char *json_string(const char *p, const char *e, const char **s, size_t *n) {
  if (p >= e || *p != '"') return NULL;
  const char *q = ++p;
  while (q < e && *q != '"') {
    if (*q == '\\' || (unsigned char)*q < 0x20) return NULL;
    ++q;
  }
  if (q >= e) return NULL;
  *s = p;
  *n = (size_t)(q - p);
  return q + 1;
}
#define MAX_FIELDS 16
struct query {
  const char *key;
  size_t key_len;
  const char *field[MAX_FIELDS];
  size_t field_len[MAX_FIELDS];
  int fields;
};
static int parse_body(const char *p, const char *e, struct query *q) {
  memset(q, 0, sizeof *q);
  p = skip_ws(p, e);
  if (p >= e || *p++ != '{') return 0;
  for (;;) {
    const char *name;
    size_t name_len;
    p = skip_ws(p, e);
    if (!(p = json_string(p, e, &name, &name_len))) return 0;
    p = skip_ws(p, e);
    if (p >= e || *p++ != ':') return 0;
    p = skip_ws(p, e);
    if (name_len == 3 && memcmp(name, "key", 3) == 0) {
      if (!(p = json_string(p, e, &q->key, &q->key_len))) return 0;
    } else if (name_len == 6 && memcmp(name, "fields", 6) == 0) {
      if (p >= e || *p++ != '[') return 0;
      p = skip_ws(p, e);
      if (p < e && *p == ']') {
        ++p;
      } else {
        for (;;) {
          if (q->fields == MAX_FIELDS) return 0;
          if (!(p = json_string(p, e, &q->field[q->fields], &q->field_len[q->fields]))) return 0;
          ++q->fields;
          p = skip_ws(p, e);
          if (p < e && *p == ',') {
            p = skip_ws(p + 1, e);
            continue;
          }
          if (p >= e || *p++ != ']') return 0;
          break;
        }
      }
    } else {
      const char *s;
      size_t n;
      if (p < e && *p == '"') {
        if (!(p = json_string(p, e, &s, &n))) return 0;
      } else {
        while (p < e && ((*p >= '0' && *p <= '9') || *p == '-')) ++p;
      }
    }
    p = skip_ws(p, e);
    if (p < e && *p == ',') {
      ++p;
      continue;
    }
    if (p >= e || *p != '}') return 0;
    return q->key != NULL;
  }
}

/* Is `f` one of the comma-separated `list`? */
static int in_list(const char *list, const char *f, size_t n) {
  for (const char *p = list; *p;) {
    const char *c = strchr(p, ',');
    size_t len = c ? (size_t)(c - p) : strlen(p);
    if (len == n && memcmp(p, f, n) == 0) return 1;
    if (!c) break;
    p = c + 1;
  }
  return 0;
}

static void append(struct conn *c, const char *p, size_t n) {
  if (c->out_len + n > BUF) die("answer", "output buffer full");
  memcpy(c->out + c->out_len, p, n);
  c->out_len += n;
}

static void answer(struct conn *c, int status, const char *body, size_t n) {
  char head[256];
  int h = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"
                   "Content-Length: %zu\r\n\r\n",
                   status, status == 200 ? "OK" : "Error", n);
  append(c, head, (size_t)h);
  append(c, body, n);
}

static void cpu_line(char *out, size_t n) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
               ru.ru_stime.tv_usec / 1e6;
  snprintf(out, n, "cpu_s %.3f requests %lld audit_rows %lld commits %lld", cpu, requests, rows, commits);
}

static void exec(const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) die(sql, err);
}

static sqlite3_stmt *prepare(const char *sql) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
    die(sql, sqlite3_errmsg(db));
  }
  return st;
}

/* Audit rows of the round for the journal mode. */
static char journal[1 << 20];
static size_t journal_len;
static int in_txn;

/* One lookup, from a parsed request to its answer in c->out. */
static void lookup(struct conn *c, const struct token *t, const struct query *q) {
  if (!valid_id(q->key, q->key_len)) {
    static const char bad[] = "{\"code\":1002,\"message\":\"公民身份号码不正确（校验位或格式）\"}";
    return answer(c, 400, bad, sizeof bad - 1);
  }
  if (!in_txn) { /* the round's transaction: reads and audit rows together */
    exec(mode == MODE_SQLITE ? "BEGIN IMMEDIATE" : "BEGIN");
    in_txn = 1;
  }
  /* The live grant (sharing.cc KeptLiveGrant: by app, newest first). */
  long long now = now_ms();
  sqlite3_bind_text(grant_st, 1, "person", 6, SQLITE_STATIC);
  sqlite3_bind_int64(grant_st, 2, now);
  sqlite3_bind_text(grant_st, 3, t->client_id, -1, SQLITE_STATIC);
  if (sqlite3_step(grant_st) != SQLITE_ROW) die("grant", "no live grant");
  long long grant_id = sqlite3_column_int64(grant_st, 0),
            resource_id = sqlite3_column_int64(grant_st, 1);
  char granted[256];
  snprintf(granted, sizeof granted, "%s", (const char *)sqlite3_column_text(grant_st, 2));
  int unmasked = sqlite3_column_int(grant_st, 3);
  sqlite3_reset(grant_st);
  for (int i = 0; i < q->fields; ++i) {
    if (!in_list(granted, q->field[i], q->field_len[i])) die("fields", "not granted");
  }
  /* The record, every column (found and not found cost the same). */
  static const char *const names[8] = {"id_number", "name",    "gender", "birth_date",
                                        "nation",    "address", "mobile", "division"};
  sqlite3_bind_text(person_st, 1, q->key, (int)q->key_len, SQLITE_STATIC);
  if (sqlite3_step(person_st) != SQLITE_ROW) die("person", "not found");
  char body[2048], fields[256];
  size_t n = (size_t)snprintf(body, sizeof body,
                              "{\"code\":0,\"message\":\"成功\",\"grant_id\":%lld,\"data\":{",
                              grant_id);
  size_t fn = 0;
  int first = 1;
  for (int col = 0; col < 8; ++col) { /* item order, as tongban */
    int wanted = 0;
    for (int i = 0; i < q->fields && !wanted; ++i) {
      wanted = strlen(names[col]) == q->field_len[i] && memcmp(names[col], q->field[i], q->field_len[i]) == 0;
    }
    if (!wanted) continue;
    const char *v = (const char *)sqlite3_column_text(person_st, col);
    size_t len = (size_t)sqlite3_column_bytes(person_st, col);
    char masked[128];
    if (!unmasked && (col == 0 || col == 6) && len >= 7 && len < sizeof masked) {
      size_t keep_head = col == 0 ? 6 : 3; /* model.cc MaskIdNumber / MaskMobile */
      memcpy(masked, v, keep_head);
      memset(masked + keep_head, '*', len - keep_head - 4);
      memcpy(masked + len - 4, v + len - 4, 4);
      v = masked;
    }
    /* Values are loaded text without quotes or backslashes; a general server
     * would escape them here (a scan of the bytes). */
    n += (size_t)snprintf(body + n, sizeof body - n, "%s\"%s\":\"%.*s\"", first ? "" : ",",
                          names[col], (int)len, v);
    fn += (size_t)snprintf(fields + fn, sizeof fields - fn, "%s%s", first ? "" : ",", names[col]);
    first = 0;
  }
  sqlite3_reset(person_st);
  n += (size_t)snprintf(body + n, sizeof body - n, "}}");
  answer(c, 200, body, n);
  if (mode == MODE_NONE) return;
  ++rows;
  /* The audit row: masked key and its keyed hash (base.cc SubjectMac). */
  unsigned char mac[32];
  hmac_sha256(audit_key, sizeof audit_key - 1, q->key, q->key_len, mac);
  char mac_hex[65], subject[32];
  hex(mac, 16, mac_hex); /* the first 32 hex digits */
  memcpy(subject, q->key, 6);
  memset(subject + 6, '*', 8);
  memcpy(subject + 14, q->key + 14, 4);
  subject[18] = '\0';
  if (mode == MODE_JOURNAL) {
    int w = snprintf(journal + journal_len, sizeof journal - journal_len,
                     "%lld\t%s\tclient\t%s\tbase.query.person\t%lld\t0\t%lld\t%s\t%s\t%s\tok\t\n",
                     now, t->client_id, t->org, resource_id, grant_id, subject, mac_hex, fields);
    journal_len += (size_t)w;
    if (journal_len > sizeof journal - 1024) die("journal", "round buffer full");
    return;
  }
  sqlite3_stmt *a = audit_st;
  sqlite3_bind_int64(a, 1, now);
  sqlite3_bind_text(a, 2, t->client_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(a, 3, "client", 6, SQLITE_STATIC);
  sqlite3_bind_text(a, 4, t->org, -1, SQLITE_STATIC);
  sqlite3_bind_text(a, 5, "base.query.person", -1, SQLITE_STATIC);
  sqlite3_bind_int64(a, 6, resource_id);
  sqlite3_bind_int64(a, 7, 0);
  sqlite3_bind_int64(a, 8, grant_id);
  sqlite3_bind_text(a, 9, subject, 18, SQLITE_TRANSIENT);
  sqlite3_bind_text(a, 10, mac_hex, 32, SQLITE_TRANSIENT);
  sqlite3_bind_text(a, 11, fields, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(a, 12, "ok", 2, SQLITE_STATIC);
  sqlite3_bind_text(a, 13, "", 0, SQLITE_STATIC);
  if (sqlite3_step(a) != SQLITE_DONE) die("audit insert", sqlite3_errmsg(db));
  sqlite3_reset(a);
}

/* Every complete request in c->in; returns 0 when the connection must close. */
static int serve(struct conn *c) {
  for (;;) {
    c->in[c->have] = '\0';
    char *end = strstr(c->in, "\r\n\r\n");
    if (!end) return c->have < BUF - 1;
    const char *auth = NULL, *p;
    size_t auth_len = 0, body_len = 0;
    for (p = strstr(c->in, "\r\n"); p && p < end; p = strstr(p, "\r\n")) {
      p += 2;
      if (strncasecmp(p, "content-length:", 15) == 0) body_len = (size_t)atol(p + 15);
      if (strncasecmp(p, "authorization:", 14) == 0) {
        const char *v = p + 14;
        while (*v == ' ') ++v;
        if (strncasecmp(v, "bearer ", 7) == 0) {
          auth = v + 7;
          auth_len = strcspn(auth, "\r");
        }
      }
    }
    size_t head = (size_t)(end + 4 - c->in);
    if (head + body_len > BUF - 1) return 0;
    if (c->have < head + body_len) return 1; /* the body is still coming */
    ++requests;
    if (strncmp(c->in, "POST /catalogue/api/base/person/query ", 38) == 0) {
      const struct token *t = auth ? find_token(auth, auth_len) : NULL;
      struct query q;
      if (!t) {
        static const char no[] = "{\"code\":2002,\"message\":\"访问令牌无效或已过期\"}";
        answer(c, 403, no, sizeof no - 1);
      } else if (!parse_body(c->in + head, c->in + head + body_len, &q)) {
        static const char bad[] = "{\"code\":1001,\"message\":\"请求体应为 JSON 对象\"}";
        answer(c, 400, bad, sizeof bad - 1);
      } else {
        lookup(c, t, &q);
      }
    } else if (strncmp(c->in, "GET /stats ", 11) == 0) {
      char line[160];
      cpu_line(line, sizeof line);
      answer(c, 200, line, strlen(line));
    } else if (strncmp(c->in, "GET /livez ", 11) == 0) {
      answer(c, 200, "{\"status\":\"ok\"}", 15);
    } else {
      answer(c, 404, "{}", 2);
    }
    memmove(c->in, c->in + head + body_len, c->have - head - body_len);
    c->have -= head + body_len;
  }
}

static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: lookup_ceiling DB TOKEN sqlite|none|journal [JOURNAL_FILE]\n");
    return 2;
  }
  mode = strcmp(argv[3], "none") == 0 ? MODE_NONE : strcmp(argv[3], "journal") == 0 ? MODE_JOURNAL : MODE_SQLITE;
  if (mode == MODE_JOURNAL) {
    if (argc < 5) die("journal", "JOURNAL_FILE missing");
    journal_fd = open(argv[4], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (journal_fd < 0) die("open journal", strerror(errno));
  }
  sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  md_ctx = EVP_MD_CTX_new();
  /* The token the bench got from tongban, as tongban's ticket store keeps it. */
  struct token tk = {.client_id = "benchsys", .org = "001092", .expires_ms = now_ms() + 7200000};
  sha256_hex(argv[2], strlen(argv[2]), tk.digest);
  tokens[slot_of(tk.digest)] = tk;

  if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) die("open", argv[1]);
  exec("PRAGMA busy_timeout=5000; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
       "PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=10000");
  /* LOOKUP_CEILING_AUTOCHECKPOINT=<pages> (0: none; the WAL grows for the run):
   * how much of the audit's cost and tail is the checkpoint's. */
  if (getenv("LOOKUP_CEILING_AUTOCHECKPOINT")) {
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA wal_autocheckpoint=%d",
             atoi(getenv("LOOKUP_CEILING_AUTOCHECKPOINT")));
    exec(pragma);
  }
  /* LOOKUP_CEILING_MMAP=<bytes>: an experiment tongban does not make (its pool
   * sessions' maps are dropped by every commit of another connection). */
  if (getenv("LOOKUP_CEILING_MMAP")) {
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA mmap_size=%lld", atoll(getenv("LOOKUP_CEILING_MMAP")));
    exec(pragma);
  }
  grant_st = prepare(
      "SELECT id, resource_id, fields, unmasked FROM catalogue_grants WHERE base_kind = ?1 AND "
      "kind = 'api' AND revoked_at = 0 AND expires_at > ?2 AND grantee_app = ?3 ORDER BY id "
      "DESC LIMIT 1");
  person_st = prepare(
      "SELECT id_number, name, gender, birth_date, nation, address, mobile, division FROM "
      "catalogue_base_persons WHERE id_number = ?1");
  audit_st = prepare(
      "INSERT INTO catalogue_audit (at, actor, actor_kind, actor_org, action, resource_id, "
      "application_id, grant_id, subject, subject_mac, fields, outcome, detail) VALUES "
      "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");

  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(ls, 1024) != 0) {
    die("listen", strerror(errno));
  }
  socklen_t alen = sizeof addr;
  getsockname(ls, (struct sockaddr *)&addr, &alen);
  printf("port %d\n", ntohs(addr.sin_port));
  fflush(stdout);
  signal(SIGTERM, on_term);
  signal(SIGPIPE, SIG_IGN);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls}, evs[256];
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  int ready_fds[256];
  while (!stop) {
    int n = epoll_wait(ep, evs, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait", strerror(errno));
    }
    int nready = 0;
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      if (fd == ls) {
        int c;
        while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          if (c >= MAX_FD) {
            close(c);
            continue;
          }
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conns[c] = calloc(1, sizeof(struct conn));
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      struct conn *c = conns[fd];
      int open_ = 1;
      if (evs[i].events & EPOLLIN) {
        ssize_t r = read(fd, c->in + c->have, BUF - 1 - c->have);
        if (r > 0) {
          c->have += (size_t)r;
          open_ = serve(c);
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          open_ = 0;
        }
      }
      if (!open_) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
        close(fd);
        free(c);
        conns[fd] = NULL;
        continue;
      }
      ready_fds[nready++] = fd;
    }
    /* The round's audit rows are durable before any of its answers leaves. */
    if (in_txn) {
      exec("COMMIT");
      in_txn = 0;
      if (mode == MODE_SQLITE) ++commits;
    }
    if (journal_len > 0) {
      if (write(journal_fd, journal, journal_len) != (ssize_t)journal_len) die("journal", strerror(errno));
      journal_len = 0;
      ++commits;
    }
    for (int i = 0; i < nready; ++i) {
      struct conn *c = conns[ready_fds[i]];
      while (c->out_sent < c->out_len) {
        ssize_t w = write(ready_fds[i], c->out + c->out_sent, c->out_len - c->out_sent);
        if (w < 0) {
          if (errno == EINTR) continue;
          break; /* EAGAIN: left for the next round (wrk reads at once) */
        }
        c->out_sent += (size_t)w;
      }
      /* A full socket buffer (wrk reads at once, so hardly ever): wait for EPOLLOUT. */
      int waiting = c->out_sent < c->out_len;
      if (waiting != c->waiting) {
        struct epoll_event mev = {.events = EPOLLIN | (waiting ? EPOLLOUT : 0), .data.fd = ready_fds[i]};
        epoll_ctl(ep, EPOLL_CTL_MOD, ready_fds[i], &mev);
        c->waiting = waiting;
      }
      if (!waiting) c->out_sent = c->out_len = 0;
    }
  }
  char line[160];
  cpu_line(line, sizeof line);
  printf("%s\n", line);
  return 0;
}
