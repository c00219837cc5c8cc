/*
 * keepalive_posix.c compiled as for macOS or FreeBSD (their option macros
 * over Linux's headers, see fake/), then run on Linux: checks which option
 * each field maps to, that a missing TCP_USER_TIMEOUT is refused before any
 * system call, and that the SO_PROTOCOL-less fallback still tells TCP from
 * a Unix domain socket. Built by scripts/check-platforms.mjs with
 * -DTKA_EXPECT_DARWIN or -DTKA_EXPECT_FREEBSD.
 */
#include "keepalive.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#if defined(TKA_EXPECT_DARWIN)
#define PLATFORM "macOS"
#define IDLE_OPTION "TCP_KEEPALIVE"
#elif defined(TKA_EXPECT_FREEBSD)
#define PLATFORM "FreeBSD"
#define IDLE_OPTION "TCP_KEEPIDLE"
#else
#error "define TKA_EXPECT_DARWIN or TKA_EXPECT_FREEBSD"
#endif

static int failures = 0, checks = 0;
#define CHECK(cond, ...)                                      \
  do {                                                        \
    checks++;                                                 \
    if (!(cond)) {                                            \
      failures++;                                             \
      fprintf(stderr, "FAIL " PLATFORM " %d: ", __LINE__);    \
      fprintf(stderr, __VA_ARGS__);                           \
      fputc('\n', stderr);                                    \
    }                                                         \
  } while (0)

static const char *str(const char *s) { return s ? s : "(null)"; }

/* The option name tka_set reports for one field, learned by setting it on
 * a closed descriptor: the call fails with EBADF and names the option. */
static const char *option_for(int slot) {
  tka_values v = {TKA_LEAVE, TKA_LEAVE, TKA_LEAVE, TKA_LEAVE, TKA_LEAVE};
  int *fields[] = {&v.enabled, &v.idle, &v.interval, &v.count, &v.user_timeout};
  *fields[slot] = 5;
  tka_where where = {0, 0};
  int err = tka_set(-1, &v, &where);
  return err == EBADF || err == ENOPROTOOPT ? where.option : "(no error)";
}

int main(void) {
  int caps = tka_capabilities();
  CHECK(caps == (TKA_CAN_IDLE | TKA_CAN_INTERVAL | TKA_CAN_COUNT), "capabilities %d", caps);

  CHECK(strcmp(str(option_for(1)), IDLE_OPTION) == 0, "idle maps to %s", str(option_for(1)));
  CHECK(strcmp(str(option_for(2)), "TCP_KEEPINTVL") == 0, "interval maps to %s", str(option_for(2)));
  CHECK(strcmp(str(option_for(3)), "TCP_KEEPCNT") == 0, "count maps to %s", str(option_for(3)));

  /* A user timeout on a real socket: refused with ENOPROTOOPT, and nothing
   * else happens (SO_KEEPALIVE stays off). */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  tka_values ut = {1, TKA_LEAVE, TKA_LEAVE, TKA_LEAVE, 1000};
  tka_where where = {0, 0};
  int err = tka_set(fd, &ut, &where);
  CHECK(err == ENOPROTOOPT && strcmp(str(where.option), "TCP_USER_TIMEOUT") == 0 && strcmp(str(where.syscall), "setsockopt") == 0,
        "user timeout: err %d option %s", err, str(where.option));
  int on = -1;
  socklen_t len = sizeof on;
  getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, &len);
  CHECK(on == 0, "SO_KEEPALIVE turned on by a refused call");

  double info[TKA_INFO_FIELDS];
  err = tka_tcp_info(fd, info, &where);
  CHECK(err == ENOPROTOOPT && strcmp(str(where.option), "TCP_INFO") == 0, "tcp_info: %d", err);
  int dup_fd;
  err = tka_pidfd_getfd(getpid(), fd, &dup_fd, &where);
  CHECK(err == ENOSYS, "pidfd_getfd: %d", err);

  /* Telling TCP from a Unix domain socket: SO_PROTOCOL on FreeBSD, the
   * getsockname and SO_TYPE fallback on macOS. */
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0, "bind");
  int kind = -1;
  CHECK(tka_kind(fd, &kind, &where) == 0 && kind == TKA_KIND_TCP, "TCP kind %d", kind);
  int pair[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0, "socketpair");
  CHECK(tka_kind(pair[0], &kind, &where) == 0 && kind == TKA_KIND_UNIX, "Unix kind %d", kind);
  int udp = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK(bind(udp, (struct sockaddr *)&addr, sizeof addr) == 0, "bind udp");
  CHECK(tka_kind(udp, &kind, &where) == 0 && kind == TKA_KIND_OTHER, "UDP kind %d", kind);

  printf("C layer as built for %s: %d of %d checks passed\n", PLATFORM, checks - failures, checks);
  return failures == 0 ? 0 : 1;
}
