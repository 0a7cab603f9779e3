/* One multiplexed connection shared by threads (docs/protocol.md §5–§8).
 *
 * Calls wait on a condition variable; whichever waiting thread finds no reader becomes the reader
 * for a while: it reads frames, hands each RESPONSE to its call, answers PINGs and gives the role
 * back once its own call is answered, so no thread of the library's own is needed. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

typedef struct pending_call {
  uint32_t id;
  int done;
  uint8_t *payload;
  size_t payload_size;
  agentcube_error error; /* when done without payload */
  struct pending_call *next;
} pending_call;

struct agentcube_client {
  char *target;
  char *token;
  int fd;
  pthread_mutex_t lock; /* guards everything below but the fd's writes */
  pthread_cond_t changed;
  pthread_mutex_t write_lock;
  uint32_t next_call_id;
  pending_call *calls;
  int reading;
  int broken; /* set once: calls fail with broken_error */
  agentcube_error broken_error;
  int goaway;
  uint32_t goaway_last_call_id;
  uint32_t peer_max_frame_size;
  ac_frame_reader reader;
};

static char *copy(const char *text) { return text != NULL ? strdup(text) : NULL; }

static void wipe(char *secret) {
  if (secret != NULL) {
    memset(secret, 0, strlen(secret));
    free(secret);
  }
}

/* Preface and SETTINGS of the client, appended to *buffer. */
static int opening(uint8_t **buffer, size_t *length) {
  uint8_t preface[AC_PREFACE_LENGTH];
  ac_preface(preface);
  *buffer = malloc(AC_PREFACE_LENGTH);
  if (*buffer == NULL) return -1;
  memcpy(*buffer, preface, AC_PREFACE_LENGTH);
  *length = AC_PREFACE_LENGTH;
  Agentcube__V1__Wire__Settings settings = AGENTCUBE__V1__WIRE__SETTINGS__INIT;
  settings.max_frame_size = AC_DEFAULT_MAX_FRAME_SIZE;
  settings.protocol_version = 1;
  settings.agent = AC_AGENT;
  return ac_append_frame(buffer, length, AC_SETTINGS, 0, 0, &settings.base, NULL, 0);
}

static int read_server_preface(int fd, int64_t deadline, agentcube_error *err) {
  uint8_t preface[AC_PREFACE_LENGTH];
  int code = ac_read_exact(fd, preface, sizeof preface, deadline, err);
  if (code == AGENTCUBE_DEADLINE_EXCEEDED) return ac_fail(err, AGENTCUBE_UNAVAILABLE, "the server sent no preface in time");
  if (code != AGENTCUBE_OK) return code;
  if (memcmp(preface, "ACUBE\0", 6) != 0)
    return ac_fail(err, AGENTCUBE_UNAVAILABLE, "the server did not answer with the AgentCube preface");
  return AGENTCUBE_OK;
}

int agentcube_connect(const char *target, const char *token, int timeout_ms, agentcube_client **out,
                      agentcube_error *err) {
  *out = NULL;
  int64_t deadline = ac_deadline(timeout_ms);
  int fd;
  int code = ac_dial(target, deadline, &fd, err);
  if (code != AGENTCUBE_OK) return code;
  uint8_t *hello = NULL;
  size_t hello_length = 0;
  if (opening(&hello, &hello_length) != 0) code = ac_fail(err, AGENTCUBE_RESOURCE_EXHAUSTED, "out of memory");
  if (code == AGENTCUBE_OK) code = ac_write_all(fd, hello, hello_length, deadline, err);
  free(hello);
  if (code == AGENTCUBE_OK) code = read_server_preface(fd, deadline, err);
  agentcube_client *client = code == AGENTCUBE_OK ? calloc(1, sizeof *client) : NULL;
  if (code == AGENTCUBE_OK && client == NULL) code = ac_fail(err, AGENTCUBE_RESOURCE_EXHAUSTED, "out of memory");
  if (code != AGENTCUBE_OK) {
    close(fd);
    return code;
  }
  client->target = copy(target != NULL ? target : "unix:/tmp/agentcube/agentcube.sock");
  client->token = copy(token);
  client->fd = fd;
  client->next_call_id = 1;
  client->peer_max_frame_size = AC_DEFAULT_MAX_FRAME_SIZE;
  client->reader.max_frame_size = AC_DEFAULT_MAX_FRAME_SIZE;
  pthread_mutex_init(&client->lock, NULL);
  pthread_mutex_init(&client->write_lock, NULL);
  pthread_condattr_t attributes;
  pthread_condattr_init(&attributes);
  pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
  pthread_cond_init(&client->changed, &attributes);
  pthread_condattr_destroy(&attributes);
  *out = client;
  return AGENTCUBE_OK;
}

void agentcube_close(agentcube_client *client) {
  if (client == NULL) return;
  uint8_t goaway[10] = {0, 0, 0, 6, AC_GOAWAY, 0, 0, 0, 0, 0};
  if (!client->broken) ac_write_all(client->fd, goaway, sizeof goaway, ac_deadline(1000), NULL);
  close(client->fd);
  ac_frame_reader_reset(&client->reader);
  for (pending_call *call = client->calls, *next; call != NULL; call = next) {
    next = call->next;
    free(call->payload);
    free(call);
  }
  pthread_mutex_destroy(&client->lock);
  pthread_mutex_destroy(&client->write_lock);
  pthread_cond_destroy(&client->changed);
  free(client->target);
  wipe(client->token);
  free(client);
}

static int send_bytes(agentcube_client *client, const uint8_t *data, size_t length, int64_t deadline,
                      agentcube_error *err) {
  pthread_mutex_lock(&client->write_lock);
  int code = ac_write_all(client->fd, data, length, deadline, err);
  pthread_mutex_unlock(&client->write_lock);
  return code;
}

/* Marks the connection broken (lock held): every call waiting fails with ERROR. */
static void break_connection(agentcube_client *client, const agentcube_error *error) {
  if (!client->broken) {
    client->broken = 1;
    client->broken_error = *error;
  }
  for (pending_call *call = client->calls; call != NULL; call = call->next) {
    if (!call->done) {
      call->done = 1;
      call->error = client->broken_error;
    }
  }
  pthread_cond_broadcast(&client->changed);
}

/* Handles one frame (lock held); returns the PING payload to acknowledge through *ping. */
static void dispatch(agentcube_client *client, ac_frame *frame, int *ping, uint8_t ping_payload[8]) {
  if (frame->type == AC_RESPONSE) {
    for (pending_call *call = client->calls; call != NULL; call = call->next) {
      if (call->id == frame->call_id && !call->done) {
        call->done = 1;
        call->payload = frame->payload;
        call->payload_size = frame->payload_size;
        frame->payload = NULL;
        pthread_cond_broadcast(&client->changed);
        break;
      }
    }
  } else if (frame->type == AC_PING) {
    agentcube_error error;
    if (frame->payload_size != 8) {
      ac_fail(&error, AGENTCUBE_UNAVAILABLE, "the server broke the protocol: a PING of %zu bytes", frame->payload_size);
      break_connection(client, &error);
    } else if (!(frame->flags & AC_PING_ACK)) {
      *ping = 1;
      memcpy(ping_payload, frame->payload, 8);
    }
  } else if (frame->type == AC_GOAWAY) {
    Agentcube__V1__Wire__GoAway *goaway = agentcube__v1__wire__go_away__unpack(NULL, frame->payload_size, frame->payload);
    client->goaway = 1;
    client->goaway_last_call_id = goaway != NULL ? goaway->last_call_id : 0;
    agentcube_error error;
    ac_fail(&error, AGENTCUBE_UNAVAILABLE, "the server sent GOAWAY (%s): %s; retry on a new connection",
            agentcube_code_name(goaway != NULL ? (int)goaway->code : 0), goaway != NULL ? goaway->message : "");
    client->broken_error = error;
    for (pending_call *call = client->calls; call != NULL; call = call->next) {
      if (!call->done && call->id > client->goaway_last_call_id) {
        call->done = 1;
        call->error = error;
      }
    }
    pthread_cond_broadcast(&client->changed);
    if (goaway != NULL) agentcube__v1__wire__go_away__free_unpacked(goaway, NULL);
  } else if (frame->type == AC_SETTINGS) {
    Agentcube__V1__Wire__Settings *settings =
        agentcube__v1__wire__settings__unpack(NULL, frame->payload_size, frame->payload);
    if (settings != NULL) {
      if (settings->max_frame_size != 0) client->peer_max_frame_size = settings->max_frame_size;
      agentcube__v1__wire__settings__free_unpacked(settings, NULL);
    }
  }
  /* Frames of unknown types are ignored (§3). */
}

/* Waits (lock held) until CALL is done or DEADLINE passes, reading frames when no one else is. */
static void await_call(agentcube_client *client, pending_call *call, int64_t deadline) {
  while (!call->done) {
    if (deadline != 0 && ac_now_ms() >= deadline) return;
    if (client->reading) {
      if (deadline == 0) {
        pthread_cond_wait(&client->changed, &client->lock);
      } else {
        struct timespec until = {.tv_sec = deadline / 1000, .tv_nsec = (deadline % 1000) * 1000000};
        pthread_cond_timedwait(&client->changed, &client->lock, &until);
      }
      continue;
    }
    client->reading = 1;
    pthread_mutex_unlock(&client->lock);
    ac_frame frame = {0};
    agentcube_error error;
    int read = ac_read_frame(client->fd, &client->reader, deadline, &frame, &error);
    int ping = 0;
    uint8_t ping_payload[8];
    pthread_mutex_lock(&client->lock);
    client->reading = 0;
    if (read == 1) {
      dispatch(client, &frame, &ping, ping_payload);
      free(frame.payload);
    } else if (read != 0) {
      break_connection(client, &error);
    }
    pthread_cond_broadcast(&client->changed);
    if (ping) {
      pthread_mutex_unlock(&client->lock);
      uint8_t ack[10 + 8] = {0, 0, 0, 14, AC_PING, AC_PING_ACK, 0, 0, 0, 0};
      memcpy(ack + 10, ping_payload, 8);
      send_bytes(client, ack, sizeof ack, ac_deadline(1000), NULL);
      pthread_mutex_lock(&client->lock);
    }
  }
}

static void remove_call(agentcube_client *client, pending_call *call) {
  for (pending_call **link = &client->calls; *link != NULL; link = &(*link)->next) {
    if (*link == call) {
      *link = call->next;
      break;
    }
  }
}

int agentcube_call(agentcube_client *client, const char *method, const ProtobufCMessage *request,
                   const ProtobufCMessageDescriptor *response_type, const agentcube_metadata *metadata,
                   size_t metadata_count, int timeout_ms, ProtobufCMessage **response, agentcube_error *err) {
  if (response != NULL) *response = NULL;
  if (client == NULL || method == NULL || request == NULL)
    return ac_fail(err, AGENTCUBE_INVALID_ARGUMENT, "client, method and request are required");
  int64_t deadline = ac_deadline(timeout_ms);
  pending_call *call = calloc(1, sizeof *call);
  if (call == NULL) return ac_fail(err, AGENTCUBE_RESOURCE_EXHAUSTED, "out of memory");

  pthread_mutex_lock(&client->lock);
  if (client->broken || client->goaway) {
    agentcube_error error = client->broken_error;
    pthread_mutex_unlock(&client->lock);
    free(call);
    if (err != NULL) *err = error;
    return error.code;
  }
  for (;;) { /* any non-zero id not in flight */
    call->id = client->next_call_id++;
    if (client->next_call_id == 0) client->next_call_id = 1;
    int taken = 0;
    for (pending_call *other = client->calls; other != NULL; other = other->next) taken |= other->id == call->id;
    if (!taken) break;
  }
  call->next = client->calls;
  client->calls = call;
  uint32_t max_frame_size = client->peer_max_frame_size;
  pthread_mutex_unlock(&client->lock);

  uint8_t *frame = NULL;
  size_t frame_length = 0;
  int code = ac_request_frame(&frame, &frame_length, call->id, method, request, client->token, metadata,
                              metadata_count, timeout_ms, err);
  if (code == AGENTCUBE_OK && frame_length - 4 > max_frame_size)
    code = ac_fail(err, AGENTCUBE_RESOURCE_EXHAUSTED, "the request is %zu bytes, over the server's maximum frame size %u",
                   frame_length - 4, max_frame_size);
  if (code == AGENTCUBE_OK) {
    code = send_bytes(client, frame, frame_length, deadline, err);
    if (code != AGENTCUBE_OK && code != AGENTCUBE_DEADLINE_EXCEEDED) {
      pthread_mutex_lock(&client->lock);
      break_connection(client, err);
      pthread_mutex_unlock(&client->lock);
    }
  }
  free(frame);

  pthread_mutex_lock(&client->lock);
  if (code == AGENTCUBE_OK) await_call(client, call, deadline);
  int timed_out = code == AGENTCUBE_OK && !call->done;
  remove_call(client, call);
  int broken = client->broken;
  pthread_mutex_unlock(&client->lock);

  if (timed_out) {
    if (!broken) {
      uint8_t cancel[10] = {0, 0, 0, 6, AC_CANCEL, 0};
      cancel[6] = (uint8_t)(call->id >> 24), cancel[7] = (uint8_t)(call->id >> 16);
      cancel[8] = (uint8_t)(call->id >> 8), cancel[9] = (uint8_t)call->id;
      send_bytes(client, cancel, sizeof cancel, ac_deadline(1000), NULL);
    }
    code = ac_fail(err, AGENTCUBE_DEADLINE_EXCEEDED, "no answer within the deadline of %d ms", timeout_ms);
  } else if (code == AGENTCUBE_OK && call->payload == NULL) {
    if (err != NULL) *err = call->error;
    code = call->error.code;
  } else if (code == AGENTCUBE_OK) {
    code = ac_response_message(call->payload, call->payload_size, response_type, response, err);
  }
  free(call->payload);
  free(call);
  return code;
}

int agentcube_open_tunnel(agentcube_client *client, const char *session_id, uint32_t port, int timeout_ms,
                          int *fd_out, agentcube_error *err) {
  *fd_out = -1;
  int64_t deadline = ac_deadline(timeout_ms);
  int fd;
  int code = ac_dial(client->target, deadline, &fd, err);
  if (code != AGENTCUBE_OK) return code;
  Agentcube__V1__OpenTunnelRequest request = AGENTCUBE__V1__OPEN_TUNNEL_REQUEST__INIT;
  request.session_id = (char *)session_id;
  request.port = port;
  uint8_t *bytes = NULL;
  size_t length = 0;
  if (opening(&bytes, &length) != 0) code = ac_fail(err, AGENTCUBE_RESOURCE_EXHAUSTED, "out of memory");
  if (code == AGENTCUBE_OK)
    code = ac_request_frame(&bytes, &length, 1, "/agentcube.v1.SessionService/OpenTunnel", &request.base,
                            client->token, NULL, 0, timeout_ms, err);
  if (code == AGENTCUBE_OK) code = ac_write_all(fd, bytes, length, deadline, err);
  free(bytes);
  if (code == AGENTCUBE_OK) code = read_server_preface(fd, deadline, err);
  /* Frames up to the answer, read exactly: the first byte after it is tunnel data. PINGs are not
   * answered, since every byte sent now would be tunnel data (§7). */
  ac_frame_reader reader = {.max_frame_size = AC_DEFAULT_MAX_FRAME_SIZE};
  while (code == AGENTCUBE_OK) {
    ac_frame frame = {0};
    int read = ac_read_frame(fd, &reader, deadline, &frame, err);
    if (read == 0) {
      code = ac_fail(err, AGENTCUBE_DEADLINE_EXCEEDED, "OpenTunnel got no answer within %d ms", timeout_ms);
    } else if (read != 1) {
      code = read;
    } else if (frame.type == AC_RESPONSE && frame.call_id == 1) {
      code = ac_response_message(frame.payload, frame.payload_size, &agentcube__v1__open_tunnel_response__descriptor,
                                 NULL, err);
      free(frame.payload);
      if (code == AGENTCUBE_OK) break;
    } else if (frame.type == AC_GOAWAY) {
      Agentcube__V1__Wire__GoAway *goaway = agentcube__v1__wire__go_away__unpack(NULL, frame.payload_size, frame.payload);
      code = ac_fail(err, goaway != NULL && goaway->code != 0 && goaway->code <= 16 ? (int)goaway->code
                     : AGENTCUBE_UNAVAILABLE, "%s", goaway != NULL ? goaway->message : "the server sent GOAWAY");
      if (goaway != NULL) agentcube__v1__wire__go_away__free_unpacked(goaway, NULL);
      free(frame.payload);
    } else {
      free(frame.payload);
    }
  }
  ac_frame_reader_reset(&reader);
  if (code != AGENTCUBE_OK) {
    close(fd);
    return code;
  }
  *fd_out = fd;
  return AGENTCUBE_OK;
}
