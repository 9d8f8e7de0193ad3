/*
 * upload_ceiling: the least any receiver obeying tongban's chunk protocol must do,
 * as a yardstick for bench/exchange_transfer.py (--ceiling). It takes one HTTP PUT
 * (curl -T) over loopback and, for every byte, does what a chunk PUT cannot skip:
 * receive it, hash it into the chunk's SHA-256 (a fresh one every CHUNK bytes, as
 * the chunk check needs) and into the running whole-file SHA-256, and pwrite it at
 * its offset into the file (page cache; no fsync, like the plain receiver). No
 * signature, no SQL, no JSON. Then it answers 201 and prints its own CPU time.
 *
 *   upload_ceiling OUTPUT_FILE CHUNK_BYTES   (prints "port N", serves one PUT, exits;
 *                                             then "cpu_s X digest HEX")
 * Build: cc -O2 -o upload_ceiling upload_ceiling.c -lcrypto
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_SIZE (256 * 1024)

static void die(const char *what) {
  fprintf(stderr, "upload_ceiling: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    p += w;
    n -= (size_t)w;
  }
}

static void pwrite_all(int fd, const char *p, size_t n, off_t at) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, at);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("pwrite");
    }
    p += w;
    n -= (size_t)w;
    at += w;
  }
}

/* Case-insensitive search for a header's value in the header block. */
static const char *header(const char *head, const char *name) {
  size_t len = strlen(name);
  for (const char *p = head; (p = strchr(p, '\n')) != NULL;) {
    ++p;
    if (strncasecmp(p, name, len) == 0 && p[len] == ':') return p + len + 1;
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: upload_ceiling OUTPUT_FILE CHUNK_BYTES\n");
    return 2;
  }
  long long chunk = atoll(argv[2]);
  if (chunk <= 0) return 2;
  int out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) die("open");

  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(ls, 4) != 0) die("listen");
  socklen_t alen = sizeof addr;
  getsockname(ls, (struct sockaddr *)&addr, &alen);
  printf("port %d\n", ntohs(addr.sin_port));
  fflush(stdout);

  int c = accept(ls, NULL, NULL);
  if (c < 0) die("accept");
  char *buf = malloc(READ_SIZE);
  size_t have = 0;
  char *end = NULL;
  while (end == NULL) {
    if (have == READ_SIZE - 1) die("header too large");
    ssize_t n = read(c, buf + have, READ_SIZE - 1 - have);
    if (n <= 0) die("read header");
    have += (size_t)n;
    buf[have] = '\0';
    end = strstr(buf, "\r\n\r\n");
  }
  *end = '\0';
  const char *cl = header(buf, "content-length");
  if (cl == NULL) die("no content-length");
  long long left = atoll(cl);
  if (header(buf, "expect") != NULL) write_all(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
  size_t body_at = (size_t)(end + 4 - buf);
  size_t pending = have - body_at;
  memmove(buf, buf + body_at, pending);

  EVP_MD_CTX *whole = EVP_MD_CTX_new(), *piece = EVP_MD_CTX_new();
  EVP_DigestInit_ex(whole, EVP_sha256(), NULL);
  EVP_DigestInit_ex(piece, EVP_sha256(), NULL);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  long long offset = 0;
  for (;;) {
    /* Never across a chunk boundary: each chunk's digest is checked on its own. */
    size_t n = pending;
    if ((long long)n > left) n = (size_t)left;
    long long to_boundary = chunk - offset % chunk;
    if ((long long)n > to_boundary) n = (size_t)to_boundary;
    if (n > 0) {
      EVP_DigestUpdate(piece, buf, n);
      EVP_DigestUpdate(whole, buf, n);
      pwrite_all(out, buf, n, offset);
      offset += (long long)n;
      left -= (long long)n;
      memmove(buf, buf + n, pending - n);
      pending -= n;
      if (offset % chunk == 0 || left == 0) {
        EVP_DigestFinal_ex(piece, md, &mdlen); /* the chunk check's digest */
        EVP_DigestInit_ex(piece, EVP_sha256(), NULL);
      }
    }
    if (left == 0) break;
    if (pending > 0) continue;
    ssize_t r = read(c, buf, READ_SIZE);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die("read body");
    pending = (size_t)r;
  }
  EVP_DigestFinal_ex(whole, md, &mdlen);
  const char *answer = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  write_all(c, answer, strlen(answer));
  close(c);
  close(out);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
               ru.ru_stime.tv_usec / 1e6;
  printf("cpu_s %.3f digest ", cpu);
  for (unsigned int i = 0; i < mdlen; ++i) printf("%02x", md[i]);
  printf("\n");
  return 0;
}
