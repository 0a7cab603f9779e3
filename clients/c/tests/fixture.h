/* A real agentcubed for the C tests, on a temporary state directory; and tiny test macros. */
#ifndef AGENTCUBE_TEST_FIXTURE_H
#define AGENTCUBE_TEST_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

typedef struct test_server {
  char directory[64];
  char unix_target[160];
  char tcp_target[64];
  char token[2][40]; /* alice's and bob's, never printed */
  pid_t pid;
} test_server;

/* Starts $AGENTCUBED (else $AGENTCUBE_BIN_DIR/agentcubed, else `swift build --show-bin-path`'s). */
void server_start(test_server *server);
/* Deletes every session left, stops the server (SIGTERM, then SIGKILL) and removes its directory. */
void server_stop(test_server *server);

extern int test_failures;
#define CHECK(condition)                                                          \
  do {                                                                            \
    if (!(condition)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      test_failures++;                                                            \
    }                                                                             \
  } while (0)
#define CHECK_OK(code, err)                                                                          \
  do {                                                                                               \
    int check_code_ = (code);                                                                        \
    if (check_code_ != 0) {                                                                          \
      fprintf(stderr, "%s:%d: %s failed: %d %s\n", __FILE__, __LINE__, #code, check_code_, (err).message); \
      test_failures++;                                                                               \
    }                                                                                                \
  } while (0)

#endif
