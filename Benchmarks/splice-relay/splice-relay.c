// splice-relay: the ceiling for one user-space TCP hop on Linux, for the tunnel benchmark.
//
//   splice-relay LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT [--once] [--pipe-size BYTES]
//
// Accepts a connection, connects to the target, and moves bytes both ways with splice(2) through
// a pipe per direction (socket -> pipe -> socket: the bytes never enter user space), one blocking
// thread per direction. Half-close aware: end of input on one side becomes shutdown(SHUT_WR) on
// the other; the pair is closed when both directions are done. With --once it serves one
// connection and exits, so that its CPU time can be read with wait4(2).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int pipe_size = 1 << 20;

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
    if (listen(fd, 1024) < 0) die("listen");
  } else if (connect(fd, info->ai_addr, info->ai_addrlen) < 0) {
    fd = -1;
  }
  freeaddrinfo(info);
  return fd;
}

struct pair {
  int client, target;
  atomic_int directions_left;
};

struct direction {
  struct pair *pair;
  int from, to;
};

static void finish(struct pair *pair) {
  if (atomic_fetch_sub(&pair->directions_left, 1) == 1) {
    close(pair->client);
    close(pair->target);
    free(pair);
  }
}

static void *pump(void *argument) {
  struct direction *d = argument;
  int pipes[2];
  if (pipe2(pipes, O_CLOEXEC) < 0) die("pipe2");
  (void)fcntl(pipes[1], F_SETPIPE_SZ, pipe_size);
  int failed = 0;
  for (;;) {
    ssize_t in = splice(d->from, NULL, pipes[1], NULL, (size_t)pipe_size, SPLICE_F_MOVE | SPLICE_F_MORE);
    if (in < 0 && errno == EINTR) continue;
    if (in <= 0) {
      failed = in < 0;
      break;
    }
    while (in > 0) {
      ssize_t out = splice(pipes[0], NULL, d->to, NULL, (size_t)in, SPLICE_F_MOVE | SPLICE_F_MORE);
      if (out < 0 && errno == EINTR) continue;
      if (out <= 0) {
        failed = 1;
        break;
      }
      in -= out;
    }
    if (failed) break;
  }
  if (failed) {
    // A broken side: tear both down so that the other thread wakes up too.
    shutdown(d->from, SHUT_RDWR);
    shutdown(d->to, SHUT_RDWR);
  } else {
    shutdown(d->to, SHUT_WR);  // end of input is passed on
  }
  close(pipes[0]);
  close(pipes[1]);
  finish(d->pair);
  free(d);
  return NULL;
}

static pthread_t start(struct pair *pair, int from, int to) {
  struct direction *d = malloc(sizeof *d);
  if (!d) die("malloc");
  *d = (struct direction){.pair = pair, .from = from, .to = to};
  pthread_t thread;
  if (pthread_create(&thread, NULL, pump, d) != 0) die("pthread_create");
  return thread;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr,
            "usage: splice-relay LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT [--once] [--pipe-size BYTES]\n");
    return 2;
  }
  int once = 0;
  for (int i = 5; i < argc; i++) {
    if (strcmp(argv[i], "--once") == 0) {
      once = 1;
    } else if (strcmp(argv[i], "--pipe-size") == 0 && i + 1 < argc) {
      pipe_size = atoi(argv[++i]);
    } else {
      fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  int listener = tcp_socket(argv[1], argv[2], 1);
  for (;;) {
    int client = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      die("accept4");
    }
    int target = tcp_socket(argv[3], argv[4], 0);
    if (target < 0) {
      close(client);
      continue;
    }
    struct pair *pair = malloc(sizeof *pair);
    if (!pair) die("malloc");
    pair->client = client;
    pair->target = target;
    atomic_init(&pair->directions_left, 2);
    pthread_t up = start(pair, client, target);
    pthread_t down = start(pair, target, client);
    if (once) {
      pthread_join(up, NULL);
      pthread_join(down, NULL);
      return 0;
    }
    pthread_detach(up);
    pthread_detach(down);
  }
}
