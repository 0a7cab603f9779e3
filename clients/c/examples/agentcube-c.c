/* agentcube-c: the C library's command-line example.
 *
 *   agentcube-c [--server TARGET] health | create [--image I] [--ttl S] [--ssh-public-key-file F]
 *               | get ID | delete ID | tunnel ID [--port P]
 *
 * The server: --server, else $AGENTCUBE_SERVER, else unix:/tmp/agentcube/agentcube.sock. The token:
 * $AGENTCUBE_TOKEN, else the file named by $AGENTCUBE_TOKEN_FILE (never a command-line argument).
 * Exit codes as the agentcube CLI: 0 success, 1 local failure, 10 + the status code of a failed
 * call, 64 usage. `tunnel` joins standard input and output to the sandbox port (ssh ProxyCommand). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agentcube.h"

#define TIMEOUT_MS 60000

static int usage(void) {
  fprintf(stderr, "usage: agentcube-c [--server TARGET] health | create [--image I] [--ttl S] "
                  "[--ssh-public-key-file F] | get ID | delete ID | tunnel ID [--port P]\n");
  return 64;
}

static int failed(const agentcube_error *err) {
  fprintf(stderr, "error: %s: %s\n", agentcube_code_name(err->code), err->message);
  return 10 + err->code;
}

/* The token from the environment (malloc'ed, NULL when there is none). */
static char *read_token(void) {
  const char *token = getenv("AGENTCUBE_TOKEN");
  if (token != NULL && *token != '\0') return strdup(token);
  const char *path = getenv("AGENTCUBE_TOKEN_FILE");
  if (path == NULL || *path == '\0') return NULL;
  FILE *file = fopen(path, "r");
  if (file == NULL) return NULL;
  char buffer[4096];
  size_t length = fread(buffer, 1, sizeof buffer - 1, file);
  fclose(file);
  while (length > 0 && (buffer[length - 1] == '\n' || buffer[length - 1] == '\r' || buffer[length - 1] == ' ')) length--;
  buffer[length] = '\0';
  char *copy = strdup(buffer);
  memset(buffer, 0, sizeof buffer);
  return copy;
}

static char *read_file_line(const char *path) {
  FILE *file = fopen(path, "r");
  if (file == NULL) return NULL;
  char buffer[16384];
  if (fgets(buffer, sizeof buffer, file) == NULL) buffer[0] = '\0';
  fclose(file);
  buffer[strcspn(buffer, "\r\n")] = '\0';
  return strdup(buffer);
}

static void print_session(const Agentcube__V1__Session *s) {
  const ProtobufCEnumValue *status = protobuf_c_enum_descriptor_get_value(&agentcube__v1__session_status__descriptor, s->status);
  printf("id: %s\nname: %s\nstatus: %s\nimage: %s\ncreator: %s\nttl_seconds: %u\nexpires_at_ms: %lld\n"
         "ssh_user: %s\nssh_port: %u\nssh_host_public_key: %s\n",
         s->id, s->name, status != NULL ? status->name : "?", s->image, s->creator, s->ttl_seconds,
         (long long)s->expires_at_ms, s->ssh_user, s->ssh_port, s->ssh_host_public_key);
  if (s->status_message[0] != '\0') printf("status_message: %s\n", s->status_message);
}

/* Copies stdin to FD and FD to stdout until both directions end, passing half-closes on. */
static int bridge(int fd) {
  char buffer[65536];
  int in_open = 1, out_open = 1;
  while (out_open) {
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = in_open ? 0 : -1, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t got = read(fd, buffer, sizeof buffer);
      if (got <= 0) out_open = 0;
      for (ssize_t done = 0; got > 0 && done < got;) {
        ssize_t wrote = write(1, buffer + done, (size_t)(got - done));
        if (wrote <= 0) return 1;
        done += wrote;
      }
    }
    if (in_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t got = read(0, buffer, sizeof buffer);
      if (got <= 0) {
        in_open = 0;
        shutdown(fd, SHUT_WR);
      }
      for (ssize_t done = 0; got > 0 && done < got;) {
        ssize_t wrote = send(fd, buffer + done, (size_t)(got - done), MSG_NOSIGNAL);
        if (wrote <= 0) return 1;
        done += wrote;
      }
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *server = getenv("AGENTCUBE_SERVER");
  int arg = 1;
  if (arg + 1 < argc && strcmp(argv[arg], "--server") == 0) {
    server = argv[arg + 1];
    arg += 2;
  }
  if (arg >= argc) return usage();
  const char *command = argv[arg++];
  const char *image = NULL, *key_file = NULL, *id = NULL;
  unsigned long ttl = 0, port = 0;
  for (; arg < argc; arg++) {
    if (strcmp(argv[arg], "--image") == 0 && arg + 1 < argc) image = argv[++arg];
    else if (strcmp(argv[arg], "--ttl") == 0 && arg + 1 < argc) ttl = strtoul(argv[++arg], NULL, 10);
    else if (strcmp(argv[arg], "--ssh-public-key-file") == 0 && arg + 1 < argc) key_file = argv[++arg];
    else if (strcmp(argv[arg], "--port") == 0 && arg + 1 < argc) port = strtoul(argv[++arg], NULL, 10);
    else if (argv[arg][0] != '-' && id == NULL) id = argv[arg];
    else return usage();
  }
  int needs_id = strcmp(command, "get") == 0 || strcmp(command, "delete") == 0 || strcmp(command, "tunnel") == 0;
  if (needs_id != (id != NULL)) return usage();
  if (!needs_id && strcmp(command, "health") != 0 && strcmp(command, "create") != 0) return usage();

  char *token = read_token();
  agentcube_error err;
  agentcube_client *client = NULL;
  int status = 0;
  if (agentcube_connect(server, token, TIMEOUT_MS, &client, &err) != AGENTCUBE_OK) {
    status = failed(&err);
  } else if (strcmp(command, "health") == 0) {
    Agentcube__V1__HealthCheckResponse *health = NULL;
    if (agentcube_health(client, TIMEOUT_MS, &health, &err) != AGENTCUBE_OK) {
      status = failed(&err);
    } else {
      printf("status: %s\nversion: %s\nbackend: %s\nisolated: %s\n",
             health->status == AGENTCUBE__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING ? "SERVING" : "NOT_SERVING",
             health->version, health->backend, health->isolated ? "true" : "false");
      status = health->status == AGENTCUBE__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING ? 0 : 1;
      agentcube_free(health);
    }
  } else if (strcmp(command, "create") == 0) {
    char *key = key_file != NULL ? read_file_line(key_file) : NULL;
    if (key_file != NULL && key == NULL) {
      fprintf(stderr, "error: cannot read %s: %s\n", key_file, strerror(errno));
      status = 1;
    } else {
      agentcube_session_options options = {.image = image, .ttl_seconds = (uint32_t)ttl, .ssh_public_key = key};
      Agentcube__V1__Session *session = NULL;
      if (agentcube_create_session(client, &options, TIMEOUT_MS, &session, &err) != AGENTCUBE_OK) status = failed(&err);
      else print_session(session);
      agentcube_free(session);
    }
    free(key);
  } else if (strcmp(command, "get") == 0) {
    Agentcube__V1__Session *session = NULL;
    if (agentcube_get_session(client, id, TIMEOUT_MS, &session, &err) != AGENTCUBE_OK) status = failed(&err);
    else print_session(session);
    agentcube_free(session);
  } else if (strcmp(command, "delete") == 0) {
    if (agentcube_delete_session(client, id, TIMEOUT_MS, &err) != AGENTCUBE_OK) status = failed(&err);
  } else {
    int fd;
    if (agentcube_open_tunnel(client, id, (uint32_t)port, TIMEOUT_MS, &fd, &err) != AGENTCUBE_OK) {
      status = failed(&err);
    } else {
      status = bridge(fd);
      close(fd);
    }
  }
  agentcube_close(client);
  if (token != NULL) {
    memset(token, 0, strlen(token));
    free(token);
  }
  return status;
}
