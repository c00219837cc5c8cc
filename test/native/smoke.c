/*
 * The C layer on a real Linux socket, without Node: built with musl-gcc
 * (and gcc) by scripts/check-platforms.mjs, so the shim is known to build
 * and behave the same against musl as against glibc. Each check compares
 * what tka_* did with what plain getsockopt sees.
 */
#define _GNU_SOURCE
#include "keepalive.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                  \
  do {                                    \
    checks++;                             \
    if (!(cond)) {                        \
      failures++;                         \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);       \
      fputc('\n', stderr);                \
    }                                     \
  } while (0)

static int opt(int fd, int level, int name) {
  int value = -12345;
  socklen_t len = sizeof value;
  if (getsockopt(fd, level, name, &value, &len) != 0) return -errno;
  return value;
}

int main(void) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t addr_len = sizeof addr;
  if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 1) != 0 ||
      getsockname(listener, (struct sockaddr *)&addr, &addr_len) != 0) {
    perror("loopback listener");
    return 2;
  }
  int client = socket(AF_INET, SOCK_STREAM, 0);
  if (client < 0 || connect(client, (struct sockaddr *)&addr, sizeof addr) != 0) {
    perror("connect");
    return 2;
  }
  int accepted = accept(listener, NULL, NULL);
  int pair[2];
  if (accepted < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) {
    perror("accept/socketpair");
    return 2;
  }

  int caps = tka_capabilities();
  int want = TKA_CAN_IDLE | TKA_CAN_INTERVAL | TKA_CAN_COUNT | TKA_CAN_USER_TIMEOUT | TKA_CAN_TCP_INFO;
  CHECK((caps & want) == want, "capabilities %d lack some of %d", caps, want);

  tka_where where = {0, 0};
  int kind = -1;
  CHECK(tka_kind(client, &kind, &where) == 0 && kind == TKA_KIND_TCP, "client kind %d", kind);
  CHECK(tka_kind(pair[0], &kind, &where) == 0 && kind == TKA_KIND_UNIX, "socketpair kind %d", kind);

  tka_values all = {1, 61, 11, 4, 45000};
  CHECK(tka_set(client, &all, &where) == 0, "set all: %s %s", where.syscall, where.option);
  CHECK(opt(client, SOL_SOCKET, SO_KEEPALIVE) == 1, "SO_KEEPALIVE %d", opt(client, SOL_SOCKET, SO_KEEPALIVE));
  CHECK(opt(client, IPPROTO_TCP, TCP_KEEPIDLE) == 61, "TCP_KEEPIDLE %d", opt(client, IPPROTO_TCP, TCP_KEEPIDLE));
  CHECK(opt(client, IPPROTO_TCP, TCP_KEEPINTVL) == 11, "TCP_KEEPINTVL %d", opt(client, IPPROTO_TCP, TCP_KEEPINTVL));
  CHECK(opt(client, IPPROTO_TCP, TCP_KEEPCNT) == 4, "TCP_KEEPCNT %d", opt(client, IPPROTO_TCP, TCP_KEEPCNT));
  CHECK(opt(client, IPPROTO_TCP, TCP_USER_TIMEOUT) == 45000, "TCP_USER_TIMEOUT %d", opt(client, IPPROTO_TCP, TCP_USER_TIMEOUT));

  tka_values some = {1, TKA_LEAVE, 3, TKA_LEAVE, TKA_LEAVE};
  CHECK(tka_set(client, &some, &where) == 0, "set interval only");
  CHECK(opt(client, IPPROTO_TCP, TCP_KEEPIDLE) == 61 && opt(client, IPPROTO_TCP, TCP_KEEPINTVL) == 3,
        "leave: idle %d interval %d", opt(client, IPPROTO_TCP, TCP_KEEPIDLE), opt(client, IPPROTO_TCP, TCP_KEEPINTVL));

  tka_values read;
  CHECK(tka_get(client, &read, &where) == 0 && read.enabled == 1 && read.idle == 61 && read.interval == 3 &&
            read.count == 4 && read.user_timeout == 45000,
        "get: %d %d %d %d %d", read.enabled, read.idle, read.interval, read.count, read.user_timeout);

  tka_values off = {0, TKA_LEAVE, TKA_LEAVE, TKA_LEAVE, TKA_LEAVE};
  CHECK(tka_set(client, &off, &where) == 0 && opt(client, SOL_SOCKET, SO_KEEPALIVE) == 0, "off");

  tka_values bad = {1, 0, TKA_LEAVE, TKA_LEAVE, TKA_LEAVE};
  where.syscall = where.option = NULL;
  int err = tka_set(client, &bad, &where);
  CHECK(err == EINVAL && where.option && strcmp(where.option, "TCP_KEEPIDLE") == 0 && strcmp(where.syscall, "setsockopt") == 0,
        "idle 0: err %d option %s", err, where.option ? where.option : "(null)");
  CHECK(opt(client, SOL_SOCKET, SO_KEEPALIVE) == 0, "a refused set turned SO_KEEPALIVE on");

  err = tka_get(-1, &read, &where);
  CHECK(err == EBADF && strcmp(where.syscall, "getsockopt") == 0, "get(-1): %d", err);

  double info[TKA_INFO_FIELDS];
  CHECK(tka_tcp_info(client, info, &where) == 0 && info[TKA_INFO_STATE] == 1, "tcp_info state %f", info[TKA_INFO_STATE]);

  int dup_fd = -1;
  err = tka_pidfd_getfd(getpid(), accepted, &dup_fd, &where);
  if (err == ENOSYS || err == EPERM) {
    printf("pidfd_getfd unavailable here (%s), not checked\n", strerror(err));
  } else {
    CHECK(err == 0 && dup_fd >= 0, "pidfd_getfd: %d", err);
    int k = -1;
    CHECK(tka_kind(dup_fd, &k, &where) == 0 && k == TKA_KIND_TCP, "duplicate kind %d", k);
    CHECK(tka_close(dup_fd) == 0, "close duplicate");
  }

#ifdef __GLIBC__
  const char *libc = "glibc";
#else
  const char *libc = "not glibc (musl)";
#endif
  printf("C layer on %s: %d of %d checks passed\n", libc, checks - failures, checks);
  return failures == 0 ? 0 : 1;
}
