/* AgentCube client library in C, over the protoc-c output of Protos/ (docs/protocol.md).
 *
 * One agentcube_client is one multiplexed connection; any number of threads may call it at once.
 * Every call takes a deadline in milliseconds (0: none) and reports failure as a status code
 * (AGENTCUBE_NOT_FOUND, ...) with a message in an agentcube_error. Responses are the generated
 * protobuf-c messages: free them with agentcube_free(). No global state.
 *
 *     agentcube_error err;
 *     agentcube_client *client;
 *     if (agentcube_connect("unix:/tmp/agentcube/agentcube.sock", getenv("AGENTCUBE_TOKEN"), 10000,
 *                           &client, &err) != AGENTCUBE_OK) { fprintf(stderr, "%s\n", err.message); ... }
 */
#ifndef AGENTCUBE_H
#define AGENTCUBE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "agentcube/v1/session_service.pb-c.h"
#include "agentcube/v1/wire.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes (docs/protocol.md §6); local failures use them too (UNAVAILABLE: cannot connect). */
typedef enum agentcube_code {
  AGENTCUBE_OK = 0,
  AGENTCUBE_CANCELLED = 1,
  AGENTCUBE_UNKNOWN = 2,
  AGENTCUBE_INVALID_ARGUMENT = 3,
  AGENTCUBE_DEADLINE_EXCEEDED = 4,
  AGENTCUBE_NOT_FOUND = 5,
  AGENTCUBE_ALREADY_EXISTS = 6,
  AGENTCUBE_PERMISSION_DENIED = 7,
  AGENTCUBE_RESOURCE_EXHAUSTED = 8,
  AGENTCUBE_FAILED_PRECONDITION = 9,
  AGENTCUBE_ABORTED = 10,
  AGENTCUBE_OUT_OF_RANGE = 11,
  AGENTCUBE_UNIMPLEMENTED = 12,
  AGENTCUBE_INTERNAL = 13,
  AGENTCUBE_UNAVAILABLE = 14,
  AGENTCUBE_DATA_LOSS = 15,
  AGENTCUBE_UNAUTHENTICATED = 16
} agentcube_code;

/* A failure: its code, the message (never a token) and the retry-after-ms detail when given. */
typedef struct agentcube_error {
  int code;
  char message[512];
  int64_t retry_after_ms; /* -1 when the status carried none */
} agentcube_error;

/* One metadata entry of a call. */
typedef struct agentcube_metadata {
  const char *key;
  const char *value;
} agentcube_metadata;

/* CreateSession's arguments; zero/NULL fields mean the server's defaults. */
typedef struct agentcube_session_options {
  const char *image;
  uint32_t ttl_seconds;
  uint32_t idle_timeout_seconds;
  const char *ssh_public_key;
  /* The user SSH lets in with the key; NULL or "" for the server's default. */
  const char *ssh_user;
  const agentcube_metadata *metadata; /* the session's metadata */
  size_t metadata_count;
} agentcube_session_options;

typedef struct agentcube_client agentcube_client;

/* "OK", "NOT_FOUND", ... ("UNKNOWN" for codes outside 0..16). */
const char *agentcube_code_name(int code);

/* Connects to TARGET ("unix:PATH" or "HOST:PORT"; NULL: $AGENTCUBE_SERVER is NOT read, the
 * default "unix:/tmp/agentcube/agentcube.sock" is used) and exchanges prefaces. TOKEN (may be NULL)
 * is copied and sent as "authorization: Bearer TOKEN" on every call but Health. */
int agentcube_connect(const char *target, const char *token, int timeout_ms, agentcube_client **out,
                      agentcube_error *err);

/* Sends GOAWAY, closes the connection and frees the client. No call may be in flight. */
void agentcube_close(agentcube_client *client);

/* Any unary call: METHOD ("/agentcube.v1.SessionService/GetSession"), the request message, the
 * response's descriptor; *RESPONSE is set on success (free with agentcube_free). */
int agentcube_call(agentcube_client *client, const char *method, const ProtobufCMessage *request,
                   const ProtobufCMessageDescriptor *response_type, const agentcube_metadata *metadata,
                   size_t metadata_count, int timeout_ms, ProtobufCMessage **response, agentcube_error *err);

int agentcube_health(agentcube_client *client, int timeout_ms, Agentcube__V1__HealthCheckResponse **out,
                     agentcube_error *err);
int agentcube_create_session(agentcube_client *client, const agentcube_session_options *options, int timeout_ms,
                             Agentcube__V1__Session **out, agentcube_error *err);
int agentcube_get_session(agentcube_client *client, const char *session_id, int timeout_ms,
                          Agentcube__V1__Session **out, agentcube_error *err);
int agentcube_list_sessions(agentcube_client *client, uint32_t page_size, const char *page_token, int timeout_ms,
                            Agentcube__V1__ListSessionsResponse **out, agentcube_error *err);
int agentcube_renew_session(agentcube_client *client, const char *session_id, uint32_t ttl_seconds, int timeout_ms,
                            Agentcube__V1__Session **out, agentcube_error *err);
int agentcube_delete_session(agentcube_client *client, const char *session_id, int timeout_ms,
                             agentcube_error *err);

/* Opens a tunnel to PORT of the session's sandbox (0: its SSH port) on a new connection to the
 * client's target; *FD is then a plain connected socket carrying raw bytes (close it when done). */
int agentcube_open_tunnel(agentcube_client *client, const char *session_id, uint32_t port, int timeout_ms,
                          int *fd, agentcube_error *err);

/* Frees a message returned by this library (NULL is fine). */
void agentcube_free(void *message);

#ifdef __cplusplus
}
#endif

#endif /* AGENTCUBE_H */
