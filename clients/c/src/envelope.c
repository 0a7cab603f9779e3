/* The call envelope (docs/protocol.md §5): REQUEST payloads out, RESPONSE payloads in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_METADATA 64

int ac_request_frame(uint8_t **buffer, size_t *length, uint32_t call_id, const char *method,
                     const ProtobufCMessage *request, const char *token, const agentcube_metadata *metadata,
                     size_t metadata_count, int timeout_ms, agentcube_error *err) {
  if (metadata_count > MAX_METADATA)
    return ac_fail(err, AGENTCUBE_RESOURCE_EXHAUSTED, "request metadata has more than %d entries", MAX_METADATA);
  int with_token = token != NULL && *token != '\0' && strcmp(method, "/agentcube.v1.Health/Check") != 0;
  size_t count = metadata_count + (with_token ? 1 : 0);
  Agentcube__V1__Wire__MetadataEntry entries[MAX_METADATA + 1];
  Agentcube__V1__Wire__MetadataEntry *pointers[MAX_METADATA + 1];
  char *authorization = NULL;
  size_t index = 0;
  if (with_token) {
    size_t size = strlen(token) + sizeof "Bearer ";
    authorization = malloc(size);
    if (authorization == NULL) return ac_fail(err, AGENTCUBE_RESOURCE_EXHAUSTED, "out of memory");
    snprintf(authorization, size, "Bearer %s", token);
    agentcube__v1__wire__metadata_entry__init(&entries[index]);
    entries[index].key = "authorization";
    entries[index].value = authorization;
    pointers[index] = &entries[index];
    index++;
  }
  for (size_t i = 0; i < metadata_count; i++, index++) {
    agentcube__v1__wire__metadata_entry__init(&entries[index]);
    entries[index].key = (char *)metadata[i].key;
    entries[index].value = (char *)metadata[i].value;
    pointers[index] = &entries[index];
  }
  size_t message_size = protobuf_c_message_get_packed_size(request);
  uint8_t *message = malloc(message_size ? message_size : 1);
  if (message == NULL) {
    free(authorization);
    return ac_fail(err, AGENTCUBE_RESOURCE_EXHAUSTED, "out of memory");
  }
  protobuf_c_message_pack(request, message);
  Agentcube__V1__Wire__Request envelope = AGENTCUBE__V1__WIRE__REQUEST__INIT;
  envelope.method = (char *)method;
  envelope.n_metadata = count;
  envelope.metadata = pointers;
  envelope.timeout_micros = timeout_ms > 0 ? (uint64_t)timeout_ms * 1000u : 0;
  envelope.message.data = message;
  envelope.message.len = message_size;
  int failed = ac_append_frame(buffer, length, AC_REQUEST, 0, call_id, &envelope.base, NULL, 0);
  if (authorization != NULL) {
    memset(authorization, 0, strlen(authorization));
    free(authorization);
  }
  free(message);
  return failed ? ac_fail(err, AGENTCUBE_RESOURCE_EXHAUSTED, "out of memory") : AGENTCUBE_OK;
}

int ac_response_message(const uint8_t *payload, size_t size, const ProtobufCMessageDescriptor *type,
                        ProtobufCMessage **out, agentcube_error *err) {
  Agentcube__V1__Wire__Response *response = agentcube__v1__wire__response__unpack(NULL, size, payload);
  if (response == NULL) return ac_fail(err, AGENTCUBE_UNAVAILABLE, "the server sent a RESPONSE that does not decode");
  int code = AGENTCUBE_OK;
  if (response->status != NULL && response->status->code != 0) {
    Agentcube__V1__Wire__Status *status = response->status;
    code = ac_fail(err, status->code <= 16 ? (int)status->code : AGENTCUBE_UNKNOWN, "%s", status->message);
    for (size_t i = 0; err != NULL && i < status->n_details; i++)
      if (strcmp(status->details[i]->type, "retry-after-ms") == 0) err->retry_after_ms = atoll(status->details[i]->value);
  } else if (out != NULL) {
    *out = protobuf_c_message_unpack(type, NULL, response->message.len, response->message.data);
    if (*out == NULL) code = ac_fail(err, AGENTCUBE_INTERNAL, "the server's %s does not decode", type->name);
  }
  agentcube__v1__wire__response__free_unpacked(response, NULL);
  return code;
}
