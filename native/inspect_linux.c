/*
 * The kernel's view of TCP sockets for `tcp-keepalive ls`, the way ss gets
 * it: one sock_diag (inet_diag) netlink dump per address family gives each
 * socket's state, pending timer, unanswered probes, owner and inode, with
 * TCP_INFO, in a few large reads instead of a text file to parse. The
 * holders come from /proc/PID/fd and the values through pidfd_getfd, one
 * pidfd per process and no JavaScript call per socket.
 *
 * The netlink structures are the kernel's ABI (linux/netlink.h,
 * linux/inet_diag.h) spelled out here, so the file builds with C libraries
 * that ship no kernel headers (musl-gcc).
 */
#define _GNU_SOURCE
#include "inspect.h"
#include "keepalive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

struct tka_nlmsghdr {
  uint32_t len;
  uint16_t type;
  uint16_t flags;
  uint32_t seq;
  uint32_t pid;
};

struct tka_sockaddr_nl {
  sa_family_t family;
  unsigned short pad;
  uint32_t pid;
  uint32_t groups;
};

struct tka_inet_diag_sockid {
  uint16_t sport; /* network order */
  uint16_t dport;
  uint32_t src[4];
  uint32_t dst[4];
  uint32_t ifindex;
  uint32_t cookie[2];
};

struct tka_inet_diag_req_v2 {
  uint8_t family;
  uint8_t protocol;
  uint8_t ext;
  uint8_t pad;
  uint32_t states;
  struct tka_inet_diag_sockid id;
};

struct tka_inet_diag_msg {
  uint8_t family;
  uint8_t state;
  uint8_t timer;
  uint8_t retrans;
  struct tka_inet_diag_sockid id;
  uint32_t expires;
  uint32_t rqueue;
  uint32_t wqueue;
  uint32_t uid;
  uint32_t inode;
};

struct tka_rtattr {
  uint16_t len;
  uint16_t type;
};

enum {
  TKA_NETLINK_SOCK_DIAG = 4,
  TKA_SOCK_DIAG_BY_FAMILY = 20,
  TKA_NLM_F_REQUEST = 0x1,
  TKA_NLM_F_DUMP = 0x300,
  TKA_NLMSG_ERROR = 0x2,
  TKA_NLMSG_DONE = 0x3,
  TKA_INET_DIAG_INFO = 2,
  TKA_TCP_LISTEN = 10,
  TKA_TCP_SYN_RECV = 3,
  TKA_TCP_NEW_SYN_RECV = 12,
};

#define TKA_ALIGN(n) (((n) + 3u) & ~3u)
/* Large reads: the kernel fills up to the buffer offered, so fewer calls. */
#define TKA_RECV_SIZE (256u * 1024u)

void tka_buffer_free(tka_buffer *buffer) {
  free(buffer->data);
  buffer->data = NULL;
  buffer->length = buffer->capacity = 0;
}

static void *tka_buffer_grow(tka_buffer *b, size_t extra) {
  if (b->length + extra > b->capacity) {
    size_t capacity = b->capacity ? b->capacity : 4096;
    while (capacity < b->length + extra) capacity *= 2;
    unsigned char *data = realloc(b->data, capacity);
    if (data == NULL) return NULL;
    b->data = data;
    b->capacity = capacity;
  }
  void *at = b->data + b->length;
  b->length += extra;
  return at;
}

static int tka_record(const struct tka_inet_diag_msg *m, size_t attr_len, tka_buffer *out) {
  tka_diag_record *r = tka_buffer_grow(out, sizeof *r);
  if (r == NULL) return ENOMEM;
  memset(r, 0, sizeof *r);
  r->family = m->family == AF_INET6 ? 6 : 4;
  r->state = m->state;
  r->timer = m->timer;
  r->local_port = ntohs(m->id.sport);
  r->remote_port = ntohs(m->id.dport);
  memcpy(r->local, m->id.src, 16);
  memcpy(r->remote, m->id.dst, 16);
  r->uid = m->uid;
  r->inode = m->inode;
  r->recv_queue = m->rqueue;
  /* /proc/net/tcp's tx_queue of a listener is 0; inet_diag gives its backlog. */
  r->send_queue = m->state == TKA_TCP_LISTEN ? 0 : m->wqueue;
  r->expires_ms = m->timer ? m->expires : 0;
  /* Without TCP_INFO, idiag_retrans is the retransmit count under the
   * retransmit timer and the unanswered probes under the others. */
  if (m->timer == 1) r->retransmits = m->retrans;
  else if (m->timer == 2 || m->timer == 4) r->probes = m->retrans;
  const unsigned char *attr = (const unsigned char *)(m + 1);
  while (attr_len >= sizeof(struct tka_rtattr)) {
    const struct tka_rtattr *a = (const struct tka_rtattr *)attr;
    if (a->len < sizeof *a || a->len > attr_len) break;
    /* struct tcp_info begins: state, ca_state, retransmits, probes. */
    if (a->type == TKA_INET_DIAG_INFO && a->len >= sizeof *a + 4) {
      const unsigned char *info = attr + sizeof *a;
      r->retransmits = info[2];
      r->probes = info[3];
      r->has_info = 1;
    }
    size_t step = TKA_ALIGN(a->len);
    if (step >= attr_len) break;
    attr += step;
    attr_len -= step;
  }
  return 0;
}

static int tka_dump_family(int nl, uint8_t family, uint32_t states, unsigned char *buf, tka_buffer *out,
                           const char **syscall) {
  struct {
    struct tka_nlmsghdr header;
    struct tka_inet_diag_req_v2 request;
  } msg;
  memset(&msg, 0, sizeof msg);
  msg.header.len = sizeof msg;
  msg.header.type = TKA_SOCK_DIAG_BY_FAMILY;
  msg.header.flags = TKA_NLM_F_REQUEST | TKA_NLM_F_DUMP;
  msg.header.seq = family;
  msg.request.family = family;
  msg.request.protocol = IPPROTO_TCP;
  msg.request.ext = 1u << (TKA_INET_DIAG_INFO - 1);
  msg.request.states = states;
  struct tka_sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.family = AF_NETLINK;
  if (sendto(nl, &msg, sizeof msg, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
    *syscall = "sendto";
    return errno;
  }
  for (;;) {
    ssize_t got = recv(nl, buf, TKA_RECV_SIZE, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      *syscall = "recv";
      return errno;
    }
    if (got == 0) return 0;
    size_t left = (size_t)got;
    unsigned char *at = buf;
    while (left >= sizeof(struct tka_nlmsghdr)) {
      const struct tka_nlmsghdr *h = (const struct tka_nlmsghdr *)at;
      if (h->len < sizeof *h || h->len > left) break;
      if (h->type == TKA_NLMSG_DONE) return 0;
      if (h->type == TKA_NLMSG_ERROR) {
        int err = 0;
        if (h->len >= sizeof *h + sizeof err) memcpy(&err, at + sizeof *h, sizeof err);
        *syscall = "sock_diag";
        return err < 0 ? -err : EIO;
      }
      if (h->type == TKA_SOCK_DIAG_BY_FAMILY && h->len >= sizeof *h + sizeof(struct tka_inet_diag_msg)) {
        const struct tka_inet_diag_msg *m = (const struct tka_inet_diag_msg *)(at + sizeof *h);
        int err = tka_record(m, h->len - sizeof *h - sizeof *m, out);
        if (err) {
          *syscall = "malloc";
          return err;
        }
      }
      size_t step = TKA_ALIGN(h->len);
      if (step >= left) break;
      at += step;
      left -= step;
    }
  }
}

int tka_tcp_dump(uint32_t states, tka_buffer *out, const char **syscall) {
  /* Request sockets (a handshake under way) have a state of their own. */
  if (states & (1u << TKA_TCP_SYN_RECV)) states |= 1u << TKA_TCP_NEW_SYN_RECV;
  int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, TKA_NETLINK_SOCK_DIAG);
  if (nl < 0) {
    *syscall = "socket";
    return errno;
  }
  unsigned char *buf = malloc(TKA_RECV_SIZE);
  int err = buf == NULL ? ENOMEM : 0;
  if (err) *syscall = "malloc";
  if (!err) err = tka_dump_family(nl, AF_INET, states, buf, out, syscall);
  if (!err) {
    err = tka_dump_family(nl, AF_INET6, states, buf, out, syscall);
    /* A kernel without IPv6 has no IPv6 sockets to list. */
    if (err == ENOENT || err == EAFNOSUPPORT) err = 0;
  }
  free(buf);
  close(nl);
  return err;
}

int tka_proc_sockets(int pid, tka_buffer *out, uint32_t *denied) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", pid);
  int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return errno;
  DIR *dir = fdopendir(dirfd);
  if (dir == NULL) {
    int err = errno;
    close(dirfd);
    return err;
  }
  *denied = 0;
  int err = 0;
  struct dirent *entry;
  char link[64];
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    ssize_t n = readlinkat(dirfd, entry->d_name, link, sizeof link - 1);
    if (n < 0) {
      if (errno == EACCES || errno == EPERM) (*denied)++;
      continue;
    }
    link[n] = '\0';
    /* "socket:[12345]" */
    if (n < 10 || memcmp(link, "socket:[", 8) != 0) continue;
    char *end = NULL;
    unsigned long inode = strtoul(link + 8, &end, 10);
    if (end == NULL || *end != ']') continue;
    uint32_t *pair = tka_buffer_grow(out, 2 * sizeof(uint32_t));
    if (pair == NULL) {
      err = ENOMEM;
      break;
    }
    pair[0] = (uint32_t)strtoul(entry->d_name, NULL, 10);
    pair[1] = (uint32_t)inode;
  }
  closedir(dir);
  return err;
}

/* Whether a descriptor's /proc link ("socket:[12345]") names this inode. */
static int same_socket(const char *link, double inode) {
  static const char prefix[] = "socket:[";
  if (strncmp(link, prefix, sizeof prefix - 1) != 0) return 0;
  const char *digits = link + sizeof prefix - 1;
  if (*digits < '0' || *digits > '9') return 0;
  char *end = NULL;
  unsigned long long ino = strtoull(digits, &end, 10);
  return end != NULL && end[0] == ']' && end[1] == '\0' && (double)ino == inode;
}

int tka_read_sockets(int pid, const int32_t *fds, const double *inodes, size_t n, int32_t *out) {
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_getfd)
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) return errno;
  for (size_t i = 0; i < n; i++) {
    int32_t *row = out + 6 * i;
    memset(row, 0, 6 * sizeof *row);
    int fd = (int)syscall(SYS_pidfd_getfd, pidfd, fds[i], 0);
    if (fd < 0) {
      row[0] = errno;
      continue;
    }
    /* The descriptor's link names the socket's inode; readlink rather than
     * fstat, which glibc exports only from 2.33 and the prebuild must load
     * on older systems. */
    char path[64], link[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(path, link, sizeof link - 1);
    if (len >= 0) link[len] = '\0';
    if (len < 0) {
      row[0] = errno;
    } else if (!same_socket(link, inodes[i])) {
      row[0] = -1;
    } else {
      tka_values v;
      tka_where where = {0, 0};
      int err = tka_get(fd, &v, &where);
      if (err) {
        row[0] = err;
      } else {
        row[1] = v.enabled;
        row[2] = v.idle;
        row[3] = v.interval;
        row[4] = v.count;
        row[5] = v.user_timeout;
      }
    }
    close(fd);
  }
  close(pidfd);
  return 0;
#else
  (void)pid;
  (void)fds;
  (void)inodes;
  (void)n;
  (void)out;
  return ENOSYS;
#endif
}
