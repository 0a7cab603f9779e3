#include "fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agentcube.h"
#include "internal.h"

int test_failures = 0;

static void die(const char *what) {
  fprintf(stderr, "fixture: %s\n", what);
  exit(2);
}

static void binary_path(char *out, size_t size) {
  const char *explicit = getenv("AGENTCUBED");
  if (explicit != NULL && *explicit) {
    snprintf(out, size, "%s", explicit);
    return;
  }
  const char *bin_dir = getenv("AGENTCUBE_BIN_DIR");
  char found[1024] = "";
  if (bin_dir == NULL || !*bin_dir) {
    const char *vectors = getenv("AGENTCUBE_VECTORS"); /* <repo>/Protos/testdata/vectors.txt */
    char command[2048];
    snprintf(command, sizeof command, "cd \"$(dirname '%s')/../..\" && swift build --show-bin-path", vectors ? vectors : ".");
    FILE *pipe = popen(command, "r");
    if (pipe == NULL || fgets(found, sizeof found, pipe) == NULL) die("cannot ask swift build --show-bin-path");
    pclose(pipe);
    found[strcspn(found, "\n")] = '\0';
    bin_dir = found;
  }
  snprintf(out, size, "%s/agentcubed", bin_dir);
}

static void random_token(char out[40]) {
  uint8_t bytes[16];
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, bytes, sizeof bytes) != (ssize_t)sizeof bytes) die("cannot read /dev/urandom");
  close(fd);
  for (int i = 0; i < 16; i++) sprintf(out + 2 * i, "%02x", bytes[i]);
}

static void write_file(const char *path, const char *content, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content)) die("cannot write a file");
  close(fd);
}

void server_start(test_server *server) {
  memset(server, 0, sizeof *server);
  snprintf(server->directory, sizeof server->directory, "/tmp/accc-XXXXXX");
  if (mkdtemp(server->directory) == NULL) die("mkdtemp");
  chmod(server->directory, 0755);
  random_token(server->token[0]);
  random_token(server->token[1]);
  char path[256], tokens[256];
  snprintf(tokens, sizeof tokens, "%s,system:serviceaccount:tests:alice,alice-uid,\"tests\"\n"
           "%s,system:serviceaccount:tests:bob,bob-uid,\"tests\"\n", server->token[0], server->token[1]);
  snprintf(path, sizeof path, "%s/tokens.csv", server->directory);
  write_file(path, tokens, 0600);
  memset(tokens, 0, sizeof tokens);

  char binary[1100], state[128], socket_path[128], log_path[128];
  binary_path(binary, sizeof binary);
  snprintf(state, sizeof state, "%s/state", server->directory);
  snprintf(socket_path, sizeof socket_path, "%s/s.sock", server->directory);
  snprintf(log_path, sizeof log_path, "%s/server.log", server->directory);
  snprintf(server->unix_target, sizeof server->unix_target, "unix:%s", socket_path);
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    int log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int null = open("/dev/null", O_RDONLY);
    if (log < 0 || null < 0) _exit(127);
    dup2(null, 0);
    dup2(log, 1);
    dup2(log, 2);
    execl(binary, binary, "--state-dir", state, "--unix-socket", socket_path, "--tcp", "127.0.0.1:0",
          "--token-auth-file", path, (char *)NULL);
    _exit(127);
  }
  server->pid = pid;
  int64_t deadline = ac_now_ms() + 60000; /* polled below: the listening line in the log */
  for (;;) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) die("agentcubed exited at start (see its log)");
    if (ac_now_ms() > deadline) die("agentcubed did not start within 60 s");
    FILE *log = fopen(log_path, "r");
    char line[4096];
    int port = 0;
    while (log != NULL && fgets(line, sizeof line, log) != NULL) {
      const char *found = strstr(line, "tcp_port=");
      if (found != NULL) port = atoi(found + strlen("tcp_port="));
    }
    if (log != NULL) fclose(log);
    if (port > 0 && access(socket_path, F_OK) == 0) {
      snprintf(server->tcp_target, sizeof server->tcp_target, "127.0.0.1:%d", port);
      return;
    }
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
}

void server_stop(test_server *server) {
  for (int who = 0; who < 2; who++) {
    agentcube_client *client;
    agentcube_error err;
    if (agentcube_connect(server->unix_target, server->token[who], 10000, &client, &err) != 0) continue;
    Agentcube__V1__ListSessionsResponse *page = NULL;
    if (agentcube_list_sessions(client, 100, NULL, 10000, &page, &err) == 0) {
      for (size_t i = 0; i < page->n_sessions; i++) agentcube_delete_session(client, page->sessions[i]->id, 30000, &err);
    }
    agentcube_free(page);
    agentcube_close(client);
  }
  kill(server->pid, SIGTERM);
  int64_t deadline = ac_now_ms() + 30000;
  int status;
  while (waitpid(server->pid, &status, WNOHANG) == 0) {
    if (ac_now_ms() > deadline) {
      kill(server->pid, SIGKILL);
      waitpid(server->pid, &status, 0);
      break;
    }
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  char command[128];
  snprintf(command, sizeof command, "rm -rf '%s'", server->directory);
  if (system(command) != 0) fprintf(stderr, "fixture: could not remove %s\n", server->directory);
  memset(server->token, 0, sizeof server->token);
}
