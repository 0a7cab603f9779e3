/* libagentcube against a live agentcubed: every call, errors, deadlines, threads, the tunnel. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentcube.h"
#include "fixture.h"
#include "internal.h"

static test_server server;
static const char *const KEY =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdwEOrn5iCsQ9mT/RHYeIhYg9C3UtiLEvrQZd2PNUbE agent@example";

static agentcube_client *connect_as(const char *target, const char *token) {
  agentcube_client *client = NULL;
  agentcube_error err;
  CHECK_OK(agentcube_connect(target, token, 10000, &client, &err), err);
  if (client == NULL) exit(1);
  return client;
}

static void test_health_and_lifecycle(void) {
  agentcube_client *client = connect_as(server.unix_target, server.token[0]);
  agentcube_error err;
  Agentcube__V1__HealthCheckResponse *health = NULL;
  CHECK_OK(agentcube_health(client, 5000, &health, &err), err);
  CHECK(health != NULL && health->status == AGENTCUBE__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
  CHECK(health != NULL && strcmp(health->backend, "local") == 0);
  agentcube_free(health);

  agentcube_metadata metadata[] = {{"purpose", "c-tests"}};
  agentcube_session_options options = {
      .ttl_seconds = 300, .ssh_public_key = KEY, .ssh_user = "agent", .metadata = metadata, .metadata_count = 1};
  Agentcube__V1__Session *session = NULL;
  CHECK_OK(agentcube_create_session(client, &options, 60000, &session, &err), err);
  if (session == NULL) return;
  CHECK(session->status == AGENTCUBE__V1__SESSION_STATUS__SESSION_STATUS_RUNNING);
  CHECK(session->ttl_seconds == 300 && strlen(session->id) == 36);
  CHECK(strcmp(session->ssh_user, "agent") == 0);
  CHECK(session->n_metadata == 1 && strcmp(session->metadata[0]->value, "c-tests") == 0);
  CHECK(strncmp(session->ssh_host_public_key, "ssh-ed25519 ", 12) == 0);
  char id[64];
  snprintf(id, sizeof id, "%s", session->id);
  agentcube_free(session);

  CHECK_OK(agentcube_get_session(client, id, 5000, &session, &err), err);
  CHECK(session != NULL && strcmp(session->id, id) == 0);
  agentcube_free(session);
  CHECK_OK(agentcube_renew_session(client, id, 900, 5000, &session, &err), err);
  CHECK(session != NULL && session->ttl_seconds == 900);
  agentcube_free(session);
  Agentcube__V1__ListSessionsResponse *page = NULL;
  CHECK_OK(agentcube_list_sessions(client, 10, NULL, 5000, &page, &err), err);
  int listed = 0;
  for (size_t i = 0; page != NULL && i < page->n_sessions; i++) listed |= strcmp(page->sessions[i]->id, id) == 0;
  CHECK(listed);
  agentcube_free(page);

  /* The tunnel: a plain descriptor whose first bytes are the sandbox's SSH banner. */
  int fd = -1;
  CHECK_OK(agentcube_open_tunnel(client, id, 22, 30000, &fd, &err), err);
  if (fd >= 0) {
    char banner[8] = "";
    CHECK_OK(ac_read_exact(fd, (uint8_t *)banner, 8, ac_deadline(30000), &err), err);
    CHECK(memcmp(banner, "SSH-2.0-", 8) == 0);
    close(fd);
  }
  CHECK(agentcube_open_tunnel(client, id, 7, 30000, &fd, &err) == AGENTCUBE_UNAVAILABLE);
  CHECK(strstr(err.message, "cannot connect to port 7") != NULL);

  /* Another caller. */
  agentcube_client *bob = connect_as(server.tcp_target, server.token[1]);
  CHECK(agentcube_get_session(bob, id, 5000, &session, &err) == AGENTCUBE_PERMISSION_DENIED);
  CHECK(agentcube_delete_session(bob, id, 5000, &err) == AGENTCUBE_PERMISSION_DENIED);
  CHECK(agentcube_open_tunnel(bob, id, 0, 5000, &fd, &err) == AGENTCUBE_PERMISSION_DENIED && fd == -1);
  agentcube_close(bob);

  CHECK_OK(agentcube_delete_session(client, id, 30000, &err), err);
  CHECK(agentcube_get_session(client, id, 5000, &session, &err) == AGENTCUBE_NOT_FOUND);
  CHECK(strstr(err.message, "not found") != NULL && session == NULL);
  agentcube_close(client);
}

static void test_errors(void) {
  agentcube_error err;
  agentcube_client *client = connect_as(server.unix_target, "not-a-token");
  Agentcube__V1__ListSessionsResponse *page = NULL;
  CHECK(agentcube_list_sessions(client, 0, NULL, 5000, &page, &err) == AGENTCUBE_UNAUTHENTICATED);
  CHECK(strstr(err.message, "not-a-token") == NULL);
  agentcube_close(client);

  client = connect_as(server.unix_target, server.token[0]);
  Agentcube__V1__Session *session = NULL;
  agentcube_session_options bad_ttl = {.ttl_seconds = 5};
  CHECK(agentcube_create_session(client, &bad_ttl, 5000, &session, &err) == AGENTCUBE_INVALID_ARGUMENT);
  agentcube_session_options bad_user = {.ssh_user = "root:x:0:0"};
  CHECK(agentcube_create_session(client, &bad_user, 5000, &session, &err) == AGENTCUBE_INVALID_ARGUMENT);
  CHECK(strstr(err.message, "ssh_user") != NULL && session == NULL);
  Agentcube__V1__HealthCheckRequest request = AGENTCUBE__V1__HEALTH_CHECK_REQUEST__INIT;
  ProtobufCMessage *response = NULL;
  CHECK(agentcube_call(client, "/agentcube.v1.Nope/Nope", &request.base,
                       &agentcube__v1__health_check_response__descriptor, NULL, 0, 5000, &response, &err) ==
        AGENTCUBE_UNIMPLEMENTED);
  agentcube_metadata many[70];
  for (int i = 0; i < 70; i++) many[i] = (agentcube_metadata){"x-k", "v"};
  CHECK(agentcube_call(client, "/agentcube.v1.Health/Check", &request.base,
                       &agentcube__v1__health_check_response__descriptor, many, 70, 5000, &response, &err) ==
        AGENTCUBE_RESOURCE_EXHAUSTED);
  agentcube_metadata one[] = {{"x-request-id", "42"}};
  CHECK_OK(agentcube_call(client, "/agentcube.v1.Health/Check", &request.base,
                          &agentcube__v1__health_check_response__descriptor, one, 1, 5000, &response, &err), err);
  agentcube_free(response);
  agentcube_close(client);

  char missing[256];
  snprintf(missing, sizeof missing, "unix:%s/nothing.sock", server.directory);
  CHECK(agentcube_connect(missing, NULL, 2000, &client, &err) == AGENTCUBE_UNAVAILABLE && client == NULL);
  CHECK(agentcube_connect("no-port", NULL, 2000, &client, &err) == AGENTCUBE_INVALID_ARGUMENT);
  CHECK(agentcube_connect("tls://localhost:1", NULL, 2000, &client, &err) == AGENTCUBE_UNIMPLEMENTED);
  CHECK(strcmp(agentcube_code_name(AGENTCUBE_PERMISSION_DENIED), "PERMISSION_DENIED") == 0);
}

/* A peer (a child process) that answers the preface, then no call; it exits 0 when the last
 * frames it read before the client closed were CANCEL for call 1 and GOAWAY. */
static pid_t silent_peer(int listener) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  int fd = accept(listener, NULL, NULL);
  uint8_t preface[8], bytes[4096];
  ac_preface(preface);
  ac_write_all(fd, preface, 8, ac_deadline(5000), NULL);
  size_t total = 0;
  ssize_t got;
  while (total < sizeof bytes && (got = read(fd, bytes + total, sizeof bytes - total)) > 0) total += (size_t)got;
  static const uint8_t tail[20] = {0, 0, 0, 6, AC_CANCEL, 0, 0, 0, 0, 1, 0, 0, 0, 6, AC_GOAWAY, 0, 0, 0, 0, 0};
  _exit(total >= 20 && memcmp(bytes + total - 20, tail, 20) == 0 ? 0 : 1);
}

static void test_deadline_sends_cancel(void) {
  char path[128];
  snprintf(path, sizeof path, "%s/silent.sock", server.directory);
  int listener = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  snprintf(address.sun_path, sizeof address.sun_path, "%s", path);
  CHECK(bind(listener, (struct sockaddr *)&address, sizeof address) == 0 && listen(listener, 4) == 0);
  char target[160];
  snprintf(target, sizeof target, "unix:%s", path);
  agentcube_client *client = NULL;
  agentcube_error err;
  /* Nobody accepts yet: the connection is in the backlog and no preface comes. */
  CHECK(agentcube_connect(target, "t", 200, &client, &err) == AGENTCUBE_UNAVAILABLE);
  CHECK(strstr(err.message, "no preface") != NULL && client == NULL);
  close(accept(listener, NULL, NULL));

  pid_t peer = silent_peer(listener);
  CHECK_OK(agentcube_connect(target, "t", 5000, &client, &err), err);
  int64_t start = ac_now_ms();
  Agentcube__V1__HealthCheckResponse *health = NULL;
  CHECK(agentcube_health(client, 300, &health, &err) == AGENTCUBE_DEADLINE_EXCEEDED && health == NULL);
  CHECK(ac_now_ms() - start < 5000);
  agentcube_close(client);
  int status = 0;
  waitpid(peer, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(listener);
  unlink(path);
}

typedef struct worker {
  agentcube_client *client;
  int failures;
} worker;

static void *work(void *argument) {
  worker *w = argument;
  for (int i = 0; i < 25; i++) {
    agentcube_error err;
    Agentcube__V1__HealthCheckResponse *health = NULL;
    Agentcube__V1__ListSessionsResponse *page = NULL;
    if (agentcube_health(w->client, 10000, &health, &err) != AGENTCUBE_OK) w->failures++;
    if (agentcube_list_sessions(w->client, 0, NULL, 10000, &page, &err) != AGENTCUBE_OK) w->failures++;
    agentcube_free(health);
    agentcube_free(page);
  }
  return NULL;
}

static void test_threads_share_one_connection(void) {
  agentcube_client *client = connect_as(server.unix_target, server.token[0]);
  pthread_t threads[8];
  worker workers[8];
  for (int i = 0; i < 8; i++) {
    workers[i] = (worker){client, 0};
    pthread_create(&threads[i], NULL, work, &workers[i]);
  }
  for (int i = 0; i < 8; i++) {
    pthread_join(threads[i], NULL);
    CHECK(workers[i].failures == 0);
  }
  agentcube_close(client);
}

int main(void) {
  server_start(&server);
  test_health_and_lifecycle();
  test_errors();
  test_deadline_sends_cancel();
  test_threads_share_one_connection();
  server_stop(&server);
  printf("test_client: %d failures\n", test_failures);
  return test_failures == 0 ? 0 : 1;
}
