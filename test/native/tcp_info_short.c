/*
 * tka_tcp_info when the kernel returns a shorter struct tcp_info than the
 * headers describe (older kernels; qemu-user returns 4 bytes). Linked with
 * -Wl,--wrap=getsockopt so TCP_INFO answers with a chosen length after
 * filling the whole buffer with 0xA5, the way stale stack would look: every
 * field past the length must come back NaN, every field within it the
 * kernel's value. Built and run by scripts/check-platforms.mjs.
 */
#define _GNU_SOURCE
#include "keepalive.h"

#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static socklen_t answer_len;

int __real_getsockopt(int fd, int level, int name, void *value, socklen_t *len);

int __wrap_getsockopt(int fd, int level, int name, void *value, socklen_t *len) {
  if (level != IPPROTO_TCP || name != TCP_INFO) return __real_getsockopt(fd, level, name, value, len);
  struct tcp_info info;
  memset(&info, 0, sizeof info);
  info.tcpi_state = 1;
  info.tcpi_probes = 2;
  info.tcpi_retransmits = 3;
  info.tcpi_backoff = 4;
  info.tcpi_unacked = 5;
  memset(value, 0xA5, *len);
  memcpy(value, &info, answer_len < *len ? answer_len : *len);
  if (answer_len < *len) *len = answer_len;
  return 0;
}

static int failures = 0;

static void expect(const char *what, double got, double want) {
  int ok = isnan(want) ? isnan(got) : got == want;
  if (!ok) {
    failures++;
    fprintf(stderr, "FAIL %s: got %g, want %g\n", what, got, want);
  }
}

int main(void) {
  double out[TKA_INFO_FIELDS];
  tka_where where = {0};

  /* qemu-user's answer: tcpi_state, ca_state, retransmits, probes. */
  answer_len = 4;
  if (tka_tcp_info(0, out, &where) != 0) return 2;
  expect("4 bytes: state", out[TKA_INFO_STATE], 1);
  expect("4 bytes: retransmits", out[TKA_INFO_RETRANSMITS], 3);
  expect("4 bytes: probes", out[TKA_INFO_PROBES], 2);
  expect("4 bytes: backoff", out[TKA_INFO_BACKOFF], NAN);
  for (int i = TKA_INFO_UNACKED; i < TKA_INFO_FIELDS; i++) expect("4 bytes: a later field", out[i], NAN);

  /* Up to and including tcpi_unacked, nothing after. */
  answer_len = offsetof(struct tcp_info, tcpi_unacked) + sizeof(((struct tcp_info *)0)->tcpi_unacked);
  if (tka_tcp_info(0, out, &where) != 0) return 2;
  expect("to unacked: backoff", out[TKA_INFO_BACKOFF], 4);
  expect("to unacked: unacked", out[TKA_INFO_UNACKED], 5);
  expect("to unacked: last_data_sent", out[TKA_INFO_LAST_DATA_SENT], NAN);
  expect("to unacked: total_retrans", out[TKA_INFO_TOTAL_RETRANS], NAN);

  /* Nothing at all. */
  answer_len = 0;
  if (tka_tcp_info(0, out, &where) != 0) return 2;
  for (int i = 0; i < TKA_INFO_FIELDS; i++) expect("0 bytes: every field", out[i], NAN);

  /* The whole struct: every field a number. */
  answer_len = sizeof(struct tcp_info);
  if (tka_tcp_info(0, out, &where) != 0) return 2;
  for (int i = 0; i < TKA_INFO_FIELDS; i++) {
    if (isnan(out[i])) {
      failures++;
      fprintf(stderr, "FAIL full length: field %d is NaN\n", i);
    }
  }

  if (failures) return 1;
  printf("short TCP_INFO: fields past the returned length are NaN (tried 4, %u, 0 and %u bytes)\n",
         (unsigned)(offsetof(struct tcp_info, tcpi_unacked) + sizeof(((struct tcp_info *)0)->tcpi_unacked)),
         (unsigned)sizeof(struct tcp_info));
  return 0;
}
