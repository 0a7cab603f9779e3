/* Framing (docs/protocol.md §2–§3): preface, frames, the bounded frame reader, sockets. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

int ac_fail(agentcube_error *err, int code, const char *format, ...) {
  if (err != NULL) {
    va_list args;
    va_start(args, format);
    err->code = code;
    err->retry_after_ms = -1;
    vsnprintf(err->message, sizeof err->message, format, args);
    va_end(args);
  }
  return code;
}

int64_t ac_now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int64_t ac_deadline(int timeout_ms) { return timeout_ms > 0 ? ac_now_ms() + timeout_ms : 0; }

int ac_remaining(int64_t deadline) {
  if (deadline == 0) return -1;
  int64_t left = deadline - ac_now_ms();
  if (left <= 0) return 0;
  return left > 1000000 ? 1000000 : (int)left;
}

static int wait_fd(int fd, short events, int64_t deadline, agentcube_error *err) {
  for (;;) {
    struct pollfd p = {.fd = fd, .events = events};
    int left = ac_remaining(deadline);
    if (left == 0) return ac_fail(err, AGENTCUBE_DEADLINE_EXCEEDED, "the deadline passed");
    int ready = poll(&p, 1, left);
    if (ready > 0) return AGENTCUBE_OK;
    if (ready < 0 && errno != EINTR) return ac_fail(err, AGENTCUBE_UNAVAILABLE, "poll: %s", strerror(errno));
  }
}

int ac_dial(const char *target, int64_t deadline, int *out, agentcube_error *err) {
  if (target == NULL || *target == '\0') target = "unix:/tmp/agentcube/agentcube.sock";
  if (strncmp(target, "tls://", 6) == 0)
    return ac_fail(err, AGENTCUBE_UNIMPLEMENTED, "the C client speaks no TLS (target %s)", target);
  struct addrinfo *found = NULL;
  struct sockaddr_un unix_address;
  const struct sockaddr *address;
  socklen_t address_length;
  int family;
  if (strncmp(target, "unix:", 5) == 0) {
    const char *path = target + 5;
    if (strlen(path) >= sizeof unix_address.sun_path || *path == '\0')
      return ac_fail(err, AGENTCUBE_INVALID_ARGUMENT, "the socket path of %s is empty or too long", target);
    memset(&unix_address, 0, sizeof unix_address);
    unix_address.sun_family = AF_UNIX;
    strcpy(unix_address.sun_path, path);
    address = (const struct sockaddr *)&unix_address;
    address_length = sizeof unix_address;
    family = AF_UNIX;
  } else {
    char host[256];
    const char *colon = strrchr(target, ':');
    if (colon == NULL || colon == target || (size_t)(colon - target) >= sizeof host || colon[1] == '\0')
      return ac_fail(err, AGENTCUBE_INVALID_ARGUMENT, "target %s is not unix:PATH or HOST:PORT", target);
    memcpy(host, target, (size_t)(colon - target));
    host[colon - target] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
      memmove(host, host + 1, strlen(host));
      host[strlen(host) - 1] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
    int status = getaddrinfo(host, colon + 1, &hints, &found);
    if (status != 0) return ac_fail(err, AGENTCUBE_UNAVAILABLE, "cannot resolve %s: %s", target, gai_strerror(status));
    address = found->ai_addr;
    address_length = found->ai_addrlen;
    family = found->ai_family;
  }
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int code = AGENTCUBE_OK;
  if (fd < 0) {
    code = ac_fail(err, AGENTCUBE_UNAVAILABLE, "socket: %s", strerror(errno));
  } else if (connect(fd, address, address_length) != 0 && errno != EINPROGRESS && errno != EAGAIN) {
    code = ac_fail(err, AGENTCUBE_UNAVAILABLE, "cannot connect to %s: %s", target, strerror(errno));
  } else if ((code = wait_fd(fd, POLLOUT, deadline, err)) != AGENTCUBE_OK) {
    code = ac_fail(err, AGENTCUBE_UNAVAILABLE, "cannot connect to %s: timed out", target);
  } else {
    int error = 0;
    socklen_t size = sizeof error;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
    if (error != 0) code = ac_fail(err, AGENTCUBE_UNAVAILABLE, "cannot connect to %s: %s", target, strerror(error));
  }
  if (found != NULL) freeaddrinfo(found);
  if (code != AGENTCUBE_OK) {
    if (fd >= 0) close(fd);
    return code;
  }
  if (family != AF_UNIX) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  *out = fd;
  return AGENTCUBE_OK;
}

int ac_write_all(int fd, const uint8_t *data, size_t length, int64_t deadline, agentcube_error *err) {
  while (length > 0) {
    int code = wait_fd(fd, POLLOUT, deadline, err);
    if (code != AGENTCUBE_OK) return code;
    ssize_t sent = send(fd, data, length, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return ac_fail(err, AGENTCUBE_UNAVAILABLE, "connection lost: %s", strerror(errno));
    }
    data += sent;
    length -= (size_t)sent;
  }
  return AGENTCUBE_OK;
}

/* One read() of at most LENGTH bytes once readable; 0 at DEADLINE, -1 on a closed or failed socket. */
static ssize_t read_some(int fd, uint8_t *out, size_t length, int64_t deadline, agentcube_error *err) {
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int left = ac_remaining(deadline);
    if (left == 0) return 0;
    int ready = poll(&p, 1, left);
    if (ready < 0 && errno != EINTR) return ac_fail(err, AGENTCUBE_UNAVAILABLE, "poll: %s", strerror(errno)), -1;
    if (ready <= 0) continue;
    ssize_t got = recv(fd, out, length, MSG_DONTWAIT);
    if (got > 0) return got;
    if (got == 0) return ac_fail(err, AGENTCUBE_UNAVAILABLE, "the server closed the connection"), -1;
    if (errno != EINTR && errno != EAGAIN)
      return ac_fail(err, AGENTCUBE_UNAVAILABLE, "connection lost: %s", strerror(errno)), -1;
  }
}

int ac_read_exact(int fd, uint8_t *out, size_t length, int64_t deadline, agentcube_error *err) {
  size_t have = 0;
  while (have < length) {
    ssize_t got = read_some(fd, out + have, length - have, deadline, err);
    if (got < 0) return err != NULL ? err->code : AGENTCUBE_UNAVAILABLE;
    if (got == 0) return ac_fail(err, AGENTCUBE_DEADLINE_EXCEEDED, "no answer before the deadline");
    have += (size_t)got;
  }
  return AGENTCUBE_OK;
}

void ac_preface(uint8_t out[AC_PREFACE_LENGTH]) { memcpy(out, "ACUBE\0\0\1", AC_PREFACE_LENGTH); }

static void put_u32(uint8_t *out, uint32_t value) {
  out[0] = (uint8_t)(value >> 24);
  out[1] = (uint8_t)(value >> 16);
  out[2] = (uint8_t)(value >> 8);
  out[3] = (uint8_t)value;
}

static uint32_t get_u32(const uint8_t *in) {
  return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

int ac_append_frame(uint8_t **buffer, size_t *length, uint8_t type, uint8_t flags, uint32_t call_id,
                    const ProtobufCMessage *message, const uint8_t *raw, size_t raw_length) {
  size_t payload = message != NULL ? protobuf_c_message_get_packed_size(message) : raw_length;
  uint8_t *grown = realloc(*buffer, *length + 4 + AC_HEADER_SIZE + payload);
  if (grown == NULL) return -1;
  uint8_t *out = grown + *length;
  put_u32(out, (uint32_t)(AC_HEADER_SIZE + payload));
  out[4] = type;
  out[5] = flags;
  put_u32(out + 6, call_id);
  if (message != NULL) protobuf_c_message_pack(message, out + 10);
  else if (raw_length > 0) memcpy(out + 10, raw, raw_length);
  *buffer = grown;
  *length += 4 + AC_HEADER_SIZE + payload;
  return 0;
}

void ac_frame_reader_reset(ac_frame_reader *reader) {
  free(reader->payload);
  uint32_t max = reader->max_frame_size;
  memset(reader, 0, sizeof *reader);
  reader->max_frame_size = max;
}

int ac_read_frame(int fd, ac_frame_reader *reader, int64_t deadline, ac_frame *frame, agentcube_error *err) {
  for (;;) {
    int64_t limit = deadline;
    if (reader->started_ms != 0) {
      int64_t frame_limit = reader->started_ms + AC_FRAME_READ_TIMEOUT_MS;
      if (limit == 0 || frame_limit < limit) limit = frame_limit;
    }
    uint8_t *into;
    size_t want;
    if (reader->header_have < sizeof reader->header) {
      /* The 4 length bytes first, so the length is checked before anything else is read. */
      size_t goal = reader->header_have < 4 ? 4 : sizeof reader->header;
      into = reader->header + reader->header_have;
      want = goal - reader->header_have;
    } else {
      into = reader->payload + reader->payload_have;
      want = reader->payload_size - reader->payload_have;
    }
    if (want > 0) {
      ssize_t got = read_some(fd, into, want, limit, err);
      if (got < 0) return err != NULL ? err->code : AGENTCUBE_UNAVAILABLE;
      if (got == 0) {
        if (reader->started_ms != 0 && ac_now_ms() >= reader->started_ms + AC_FRAME_READ_TIMEOUT_MS)
          return ac_fail(err, AGENTCUBE_UNAVAILABLE, "the server sent part of a frame and then nothing for %d ms",
                         AC_FRAME_READ_TIMEOUT_MS);
        return 0;
      }
      if (reader->started_ms == 0) reader->started_ms = ac_now_ms();
      if (reader->header_have < sizeof reader->header) reader->header_have += (size_t)got;
      else reader->payload_have += (size_t)got;
    }
    if (reader->header_have == 4 || (reader->header_have > 4 && reader->header_have < sizeof reader->header)) {
      uint32_t length = get_u32(reader->header);
      uint32_t max = reader->max_frame_size ? reader->max_frame_size : AC_DEFAULT_MAX_FRAME_SIZE;
      if (length < AC_HEADER_SIZE)
        return ac_fail(err, AGENTCUBE_UNAVAILABLE, "the server broke the protocol: frame length %u is shorter than "
                       "the 6-byte frame header", length);
      if (length > max)
        return ac_fail(err, AGENTCUBE_UNAVAILABLE, "the server broke the protocol: frame length %u exceeds the "
                       "maximum frame size %u", length, max);
      continue;
    }
    if (reader->header_have == sizeof reader->header && reader->payload == NULL) {
      reader->payload_size = get_u32(reader->header) - AC_HEADER_SIZE;
      reader->payload = malloc(reader->payload_size ? reader->payload_size : 1);
      if (reader->payload == NULL) return ac_fail(err, AGENTCUBE_RESOURCE_EXHAUSTED, "out of memory");
    }
    if (reader->payload != NULL && reader->payload_have == reader->payload_size) {
      frame->type = reader->header[4];
      frame->flags = reader->header[5];
      frame->call_id = get_u32(reader->header + 6);
      frame->payload = reader->payload;
      frame->payload_size = reader->payload_size;
      reader->payload = NULL;
      ac_frame_reader_reset(reader);
      return 1;
    }
  }
}
