/* The methods of docs/protocol.md §10 as typed functions over agentcube_call. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SESSIONS "/agentcube.v1.SessionService/"

static const char *const code_names[] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
    "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
};

const char *agentcube_code_name(int code) {
  return code >= 0 && code <= AGENTCUBE_UNAUTHENTICATED ? code_names[code] : "UNKNOWN";
}

void agentcube_free(void *message) {
  if (message != NULL) protobuf_c_message_free_unpacked(message, NULL);
}

/* Takes the session out of a response whose field 1 is it, freeing the rest. */
static Agentcube__V1__Session *take_session(ProtobufCMessage *response, Agentcube__V1__Session **field) {
  Agentcube__V1__Session *session = *field;
  *field = NULL;
  agentcube_free(response);
  return session;
}

int agentcube_health(agentcube_client *client, int timeout_ms, Agentcube__V1__HealthCheckResponse **out,
                     agentcube_error *err) {
  Agentcube__V1__HealthCheckRequest request = AGENTCUBE__V1__HEALTH_CHECK_REQUEST__INIT;
  return agentcube_call(client, "/agentcube.v1.Health/Check", &request.base,
                        &agentcube__v1__health_check_response__descriptor, NULL, 0, timeout_ms,
                        (ProtobufCMessage **)out, err);
}

int agentcube_create_session(agentcube_client *client, const agentcube_session_options *options, int timeout_ms,
                             Agentcube__V1__Session **out, agentcube_error *err) {
  *out = NULL;
  agentcube_session_options none = {0};
  if (options == NULL) options = &none;
  Agentcube__V1__CreateSessionRequest request = AGENTCUBE__V1__CREATE_SESSION_REQUEST__INIT;
  if (options->image != NULL) request.image = (char *)options->image;
  if (options->ssh_public_key != NULL) request.ssh_public_key = (char *)options->ssh_public_key;
  request.ttl_seconds = options->ttl_seconds;
  request.idle_timeout_seconds = options->idle_timeout_seconds;
  if (options->ssh_user != NULL) request.ssh_user = (char *)options->ssh_user;
  size_t count = options->metadata_count;
  Agentcube__V1__MetadataPair *pairs = count ? calloc(count, sizeof *pairs) : NULL;
  Agentcube__V1__MetadataPair **pointers = count ? calloc(count, sizeof *pointers) : NULL;
  if (count && (pairs == NULL || pointers == NULL)) {
    free(pairs);
    free(pointers);
    return ac_fail(err, AGENTCUBE_RESOURCE_EXHAUSTED, "out of memory");
  }
  for (size_t i = 0; i < count; i++) {
    agentcube__v1__metadata_pair__init(&pairs[i]);
    pairs[i].key = (char *)options->metadata[i].key;
    pairs[i].value = (char *)options->metadata[i].value;
    pointers[i] = &pairs[i];
  }
  request.n_metadata = count;
  request.metadata = pointers;
  Agentcube__V1__CreateSessionResponse *response = NULL;
  int code = agentcube_call(client, SESSIONS "CreateSession", &request.base,
                            &agentcube__v1__create_session_response__descriptor, NULL, 0, timeout_ms,
                            (ProtobufCMessage **)&response, err);
  free(pairs);
  free(pointers);
  if (code == AGENTCUBE_OK) *out = take_session(&response->base, &response->session);
  return code;
}

int agentcube_get_session(agentcube_client *client, const char *session_id, int timeout_ms,
                          Agentcube__V1__Session **out, agentcube_error *err) {
  *out = NULL;
  Agentcube__V1__GetSessionRequest request = AGENTCUBE__V1__GET_SESSION_REQUEST__INIT;
  request.session_id = (char *)session_id;
  Agentcube__V1__GetSessionResponse *response = NULL;
  int code = agentcube_call(client, SESSIONS "GetSession", &request.base,
                            &agentcube__v1__get_session_response__descriptor, NULL, 0, timeout_ms,
                            (ProtobufCMessage **)&response, err);
  if (code == AGENTCUBE_OK) *out = take_session(&response->base, &response->session);
  return code;
}

int agentcube_list_sessions(agentcube_client *client, uint32_t page_size, const char *page_token, int timeout_ms,
                            Agentcube__V1__ListSessionsResponse **out, agentcube_error *err) {
  Agentcube__V1__ListSessionsRequest request = AGENTCUBE__V1__LIST_SESSIONS_REQUEST__INIT;
  request.page_size = page_size;
  if (page_token != NULL) request.page_token = (char *)page_token;
  return agentcube_call(client, SESSIONS "ListSessions", &request.base,
                        &agentcube__v1__list_sessions_response__descriptor, NULL, 0, timeout_ms,
                        (ProtobufCMessage **)out, err);
}

int agentcube_renew_session(agentcube_client *client, const char *session_id, uint32_t ttl_seconds, int timeout_ms,
                            Agentcube__V1__Session **out, agentcube_error *err) {
  *out = NULL;
  Agentcube__V1__RenewSessionRequest request = AGENTCUBE__V1__RENEW_SESSION_REQUEST__INIT;
  request.session_id = (char *)session_id;
  request.ttl_seconds = ttl_seconds;
  Agentcube__V1__RenewSessionResponse *response = NULL;
  int code = agentcube_call(client, SESSIONS "RenewSession", &request.base,
                            &agentcube__v1__renew_session_response__descriptor, NULL, 0, timeout_ms,
                            (ProtobufCMessage **)&response, err);
  if (code == AGENTCUBE_OK) *out = take_session(&response->base, &response->session);
  return code;
}

int agentcube_delete_session(agentcube_client *client, const char *session_id, int timeout_ms,
                             agentcube_error *err) {
  Agentcube__V1__DeleteSessionRequest request = AGENTCUBE__V1__DELETE_SESSION_REQUEST__INIT;
  request.session_id = (char *)session_id;
  ProtobufCMessage *response = NULL;
  int code = agentcube_call(client, SESSIONS "DeleteSession", &request.base,
                            &agentcube__v1__delete_session_response__descriptor, NULL, 0, timeout_ms, &response, err);
  agentcube_free(response);
  return code;
}
