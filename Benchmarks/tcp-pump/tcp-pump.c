// tcp-pump: the two ends of the tunnel benchmark, in C so that they cost the same on every path.
//
//   tcp-pump sink HOST PORT
//     Accepts any number of connections (epoll, one thread). Reads and discards everything with
//     read(2) into a 256 KiB buffer; at end of input, answers the byte count (8 bytes, big-endian)
//     and closes. Idle connections cost nothing but their socket.
//
//   tcp-pump source HOST PORT BYTES [--tunnel TOKEN SESSION_ID SANDBOX_PORT] [--buffer BYTES]
//     Connects, optionally opens an AgentCube tunnel on the connection (docs/protocol.md §9), then
//     writes BYTES with write(2) of one reused buffer (default 1 MiB), half-closes, and waits for
//     the sink's count. Prints one line: `bytes=N seconds=S gibps=G`. The clock starts once the
//     byte stream is open (after connect, and after the OpenTunnel answer) and stops when the
//     sink's count arrives: every byte went through the path and end of input was passed on.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  perror(what);
  exit(1);
}

static int tcp_socket(const char *host, const char *port, int listening) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  if (listening) hints.ai_flags = AI_PASSIVE;
  struct addrinfo *info;
  int rc = getaddrinfo(host, port, &hints, &info);
  if (rc != 0) {
    fprintf(stderr, "getaddrinfo %s:%s: %s\n", host, port, gai_strerror(rc));
    exit(1);
  }
  int fd = socket(info->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  if (listening) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, info->ai_addr, info->ai_addrlen) < 0) die("bind");
    if (listen(fd, 4096) < 0) die("listen");
  } else if (connect(fd, info->ai_addr, info->ai_addrlen) < 0) {
    die("connect");
  }
  freeaddrinfo(info);
  return fd;
}

// ---- sink ----------------------------------------------------------------------------------

struct connection {
  int fd;
  uint64_t count;
};

static _Noreturn void sink(const char *host, const char *port) {
  int listener = tcp_socket(host, port, 1);
  fcntl(listener, F_SETFL, O_NONBLOCK);
  int epoll = epoll_create1(EPOLL_CLOEXEC);
  if (epoll < 0) die("epoll_create1");
  struct epoll_event event = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event) < 0) die("epoll_ctl");
  enum { buffer_size = 256 * 1024 };
  char *buffer = malloc(buffer_size);
  if (!buffer) die("malloc");
  struct epoll_event events[64];
  for (;;) {
    int ready = epoll_wait(epoll, events, 64, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < ready; i++) {
      struct connection *c = events[i].data.ptr;
      if (c == NULL) {
        int fd;
        while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          c = calloc(1, sizeof *c);
          if (!c) die("calloc");
          c->fd = fd;
          struct epoll_event add = {.events = EPOLLIN, .data.ptr = c};
          if (epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &add) < 0) die("epoll_ctl");
        }
        continue;
      }
      // Read until the socket is empty (or a bounded number of times, to stay fair).
      for (int n = 0; n < 64; n++) {
        ssize_t got = read(c->fd, buffer, buffer_size);
        if (got > 0) {
          c->count += (uint64_t)got;
          continue;
        }
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) break;
        if (got == 0) {
          unsigned char answer[8];
          for (int b = 0; b < 8; b++) answer[b] = (unsigned char)(c->count >> (56 - 8 * b));
          (void)send(c->fd, answer, sizeof answer, MSG_NOSIGNAL);
        }
        close(c->fd);  // also removes it from the epoll set
        free(c);
        break;
      }
    }
  }
}

// ---- source --------------------------------------------------------------------------------

static void write_all(int fd, const void *bytes, size_t count) {
  const char *p = bytes;
  while (count > 0) {
    ssize_t wrote = write(fd, p, count);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    p += wrote;
    count -= (size_t)wrote;
  }
}

static void read_exactly(int fd, void *bytes, size_t count) {
  char *p = bytes;
  while (count > 0) {
    ssize_t got = read(fd, p, count);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) die("read");
    if (got == 0) {
      fprintf(stderr, "connection closed early\n");
      exit(1);
    }
    p += got;
    count -= (size_t)got;
  }
}

struct bytes {
  unsigned char data[1024];
  size_t count;
};

static void put(struct bytes *b, const void *data, size_t count) {
  if (b->count + count > sizeof b->data) {
    fprintf(stderr, "handshake too large\n");
    exit(1);
  }
  memcpy(b->data + b->count, data, count);
  b->count += count;
}

static void put_varint(struct bytes *b, uint64_t value) {
  do {
    unsigned char byte = value & 0x7f;
    value >>= 7;
    if (value) byte |= 0x80;
    put(b, &byte, 1);
  } while (value);
}

static void put_field(struct bytes *b, unsigned field, const void *data, size_t count) {
  put_varint(b, field << 3 | 2);
  put_varint(b, count);
  put(b, data, count);
}

static void put_frame(struct bytes *b, unsigned char type, uint32_t call, const struct bytes *payload) {
  uint32_t length = htonl((uint32_t)(6 + payload->count));
  unsigned char header[6] = {type, 0, call >> 24, call >> 16, call >> 8, call};
  put(b, &length, 4);
  put(b, header, 6);
  put(b, payload->data, payload->count);
}

// Sends the preface, SETTINGS and an OpenTunnel REQUEST; reads the server's preface and frames up
// to the RESPONSE of call 1, exactly (nothing past it: the sink sends nothing before end of input).
static void open_tunnel(int fd, const char *token, const char *session, unsigned port) {
  struct bytes out = {.count = 0}, settings = {.count = 0}, message = {.count = 0}, entry = {.count = 0},
               request = {.count = 0};
  put(&out, "ACUBE\0\0\1", 8);
  put_varint(&settings, 1 << 3);  // max_frame_size = 4 MiB
  put_varint(&settings, 4u << 20);
  put_varint(&settings, 3 << 3);  // protocol_version = 1
  put_varint(&settings, 1);
  put_frame(&out, 0, 0, &settings);
  put_field(&message, 1, session, strlen(session));  // OpenTunnelRequest
  put_varint(&message, 2 << 3);
  put_varint(&message, port);
  char bearer[600];
  snprintf(bearer, sizeof bearer, "Bearer %s", token);
  put_field(&entry, 1, "authorization", 13);
  put_field(&entry, 2, bearer, strlen(bearer));
  const char *method = "/agentcube.v1.SessionService/OpenTunnel";
  put_field(&request, 1, method, strlen(method));
  put_field(&request, 2, entry.data, entry.count);
  put_field(&request, 4, message.data, message.count);
  put_frame(&out, 1, 1, &request);
  write_all(fd, out.data, out.count);

  unsigned char preface[8];
  read_exactly(fd, preface, 8);
  if (memcmp(preface, "ACUBE\0", 6) != 0) {
    fprintf(stderr, "not an AgentCube server\n");
    exit(1);
  }
  for (;;) {
    uint32_t length;
    read_exactly(fd, &length, 4);
    length = ntohl(length);
    if (length < 6 || length > (1u << 22)) {
      fprintf(stderr, "bad frame length %u\n", length);
      exit(1);
    }
    unsigned char *frame = malloc(length);
    read_exactly(fd, frame, length);
    if (frame[0] == 2) {  // RESPONSE: Status is field 1; OK is an empty Status (code 0)
      unsigned char *payload = frame + 6;
      size_t size = length - 6;
      int ok = size < 2 || payload[0] != 0x0a || payload[1] == 0 ||
               (size >= 4 && payload[2] == 0x08 && payload[3] == 0);
      if (!ok) {
        fprintf(stderr, "OpenTunnel refused:");
        for (size_t i = 0; i < size && i < 200; i++) {
          fprintf(stderr, "%c", payload[i] >= 32 && payload[i] < 127 ? payload[i] : '.');
        }
        fprintf(stderr, "\n");
        exit(1);
      }
      free(frame);
      return;
    }
    free(frame);  // SETTINGS, PING, ...
  }
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int source(int argc, char **argv) {
  const char *host = argv[2], *port = argv[3];
  uint64_t total = strtoull(argv[4], NULL, 10);
  size_t buffer_size = 1 << 20;
  const char *token = NULL, *session = NULL;
  unsigned sandbox_port = 0;
  for (int i = 5; i < argc; i++) {
    if (strcmp(argv[i], "--tunnel") == 0 && i + 3 < argc) {
      token = argv[i + 1];
      session = argv[i + 2];
      sandbox_port = (unsigned)atoi(argv[i + 3]);
      i += 3;
    } else if (strcmp(argv[i], "--buffer") == 0 && i + 1 < argc) {
      buffer_size = (size_t)strtoull(argv[++i], NULL, 10);
    } else {
      fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  char *buffer = malloc(buffer_size);
  if (!buffer) die("malloc");
  memset(buffer, 'x', buffer_size);
  int fd = tcp_socket(host, port, 0);
  if (token) open_tunnel(fd, token, session, sandbox_port);
  double start = now_seconds();
  uint64_t left = total;
  while (left > 0) {
    size_t chunk = left < buffer_size ? (size_t)left : buffer_size;
    write_all(fd, buffer, chunk);
    left -= chunk;
  }
  if (shutdown(fd, SHUT_WR) < 0) die("shutdown");
  unsigned char answer[8];
  read_exactly(fd, answer, 8);
  double seconds = now_seconds() - start;
  uint64_t counted = 0;
  for (int b = 0; b < 8; b++) counted = counted << 8 | answer[b];
  if (counted != total) {
    fprintf(stderr, "the sink counted %llu bytes, %llu were sent\n", (unsigned long long)counted,
            (unsigned long long)total);
    return 1;
  }
  printf("bytes=%llu seconds=%.6f gibps=%.4f\n", (unsigned long long)total, seconds,
         (double)total / seconds / (1024.0 * 1024.0 * 1024.0));
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc >= 4 && strcmp(argv[1], "sink") == 0) sink(argv[2], argv[3]);
  if (argc >= 5 && strcmp(argv[1], "source") == 0) return source(argc, argv);
  fprintf(stderr,
          "usage: tcp-pump sink HOST PORT\n"
          "       tcp-pump source HOST PORT BYTES [--tunnel TOKEN SESSION_ID SANDBOX_PORT] [--buffer BYTES]\n");
  return 2;
}
