/* agentcube-c, the example command, against a live agentcubed: health, create, get, tunnel, delete. */
#include <string.h>
#include <sys/wait.h>

#include "fixture.h"

static test_server server;

/* Runs `agentcube-c ARGS` with the server and token in the environment; returns its exit code and
 * its standard output in OUT. */
static int run(const char *args, const char *input, char *out, size_t size) {
  char command[2048];
  snprintf(command, sizeof command, "%s%s%s AGENTCUBE_SERVER='%s' AGENTCUBE_TOKEN='%s' '%s' %s", input ? "printf '" : "",
           input ? input : "", input ? "' |" : "", server.unix_target, server.token[0], getenv("AGENTCUBE_C_CLI"), args);
  FILE *pipe = popen(command, "r");
  memset(command, 0, sizeof command);
  size_t have = 0, got;
  while (pipe != NULL && have < size - 1 && (got = fread(out + have, 1, size - 1 - have, pipe)) > 0) have += got;
  out[have] = '\0';
  int status = pipe != NULL ? pclose(pipe) : -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(void) {
  server_start(&server);
  char out[8192], args[256], key_file[128];
  CHECK(run("health", NULL, out, sizeof out) == 0 && strstr(out, "status: SERVING") != NULL);
  snprintf(key_file, sizeof key_file, "%s/key.pub", server.directory);
  FILE *key = fopen(key_file, "w");
  fputs("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdwEOrn5iCsQ9mT/RHYeIhYg9C3UtiLEvrQZd2PNUbE agent@example\n", key);
  fclose(key);
  snprintf(args, sizeof args, "create --ttl 300 --ssh-public-key-file '%s'", key_file);
  CHECK(run(args, NULL, out, sizeof out) == 0);
  char id[64] = "";
  sscanf(out, "id: %63s", id);
  CHECK(strlen(id) == 36 && strstr(out, "status: SESSION_STATUS_RUNNING") != NULL);
  snprintf(args, sizeof args, "get %s", id);
  CHECK(run(args, NULL, out, sizeof out) == 0 && strstr(out, id) != NULL);
  snprintf(args, sizeof args, "tunnel %s", id);
  CHECK(run(args, "SSH-2.0-agentcube-c-test\\r\\n", out, sizeof out) == 0 && strncmp(out, "SSH-2.0-OpenSSH", 15) == 0);
  snprintf(args, sizeof args, "delete %s", id);
  CHECK(run(args, NULL, out, sizeof out) == 0);
  snprintf(args, sizeof args, "get %s", id);
  CHECK(run(args, NULL, out, sizeof out) == 15); /* 10 + NOT_FOUND */
  CHECK(run("frobnicate", NULL, out, sizeof out) == 64);
  server_stop(&server);
  printf("test_cli: %d failures\n", test_failures);
  return test_failures == 0 ? 0 : 1;
}
