/* Protos/testdata/vectors.txt against protobuf-c and the library's framing; the exchanges against
 * a live agentcubed. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agentcube.h"
#include "fixture.h"
#include "internal.h"
#include "vectors.h"

static int frame_type(const char *name) {
  static const char *const names[] = {"SETTINGS", "REQUEST", "RESPONSE", "CANCEL", "PING", "GOAWAY"};
  for (int i = 0; i < 6; i++)
    if (strcmp(names[i], name) == 0) return i;
  return atoi(name);
}

static void check_message(const vector *v) {
  const ProtobufCMessageDescriptor *d = descriptor_named(vector_field(v, "type"));
  CHECK(d != NULL);
  if (d == NULL) return;
  size_t length;
  uint8_t *hex = vector_bytes(v, "hex", &length);
  ProtobufCMessage *message = protobuf_c_message_unpack(d, NULL, length, hex);
  CHECK(message != NULL);
  if (message != NULL) {
    char *printed = text_format(message);
    if (strcmp(printed, v->text) != 0) {
      fprintf(stderr, "%s: decoded as\n%s\nexpected\n%s\n", v->name, printed, v->text);
      test_failures++;
    }
    free(printed);
    size_t size = protobuf_c_message_get_packed_size(message);
    uint8_t *packed = malloc(size + 1);
    protobuf_c_message_pack(message, packed);
    if (size != length || memcmp(packed, hex, length) != 0) {
      fprintf(stderr, "%s: protobuf-c encodes it differently\n", v->name);
      test_failures++;
    }
    free(packed);
    protobuf_c_message_free_unpacked(message, NULL);
  }
  free(hex);
}

/* Writes BYTES into one end of a socket pair and returns the other. */
static int feed(const uint8_t *bytes, size_t length) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) abort();
  for (size_t i = 0; i < length; i++) /* byte by byte: the reader must not care how bytes arrive */
    if (write(pair[0], bytes + i, 1) != 1) abort();
  close(pair[0]);
  return pair[1];
}

static void check_frame(const vector_set *set, const vector *v) {
  size_t length;
  uint8_t *hex = vector_bytes(v, "hex", &length);
  int fd = feed(hex, length);
  ac_frame_reader reader = {.max_frame_size = AC_DEFAULT_MAX_FRAME_SIZE};
  ac_frame frame = {0};
  agentcube_error err;
  CHECK(ac_read_frame(fd, &reader, ac_deadline(5000), &frame, &err) == 1);
  CHECK(frame.type == frame_type(vector_field(v, "type")));
  CHECK(frame.flags == atoi(vector_field(v, "flags")));
  CHECK(frame.call_id == strtoul(vector_field(v, "call_id"), NULL, 10));
  const char *payload_name = vector_field(v, "payload");
  size_t expected_length = 0;
  uint8_t *expected;
  if (payload_name != NULL && strcmp(payload_name, "-") != 0) expected = vector_bytes(vector_named(set, payload_name), "hex", &expected_length);
  else if (payload_name != NULL) expected = malloc(1);
  else expected = vector_bytes(v, "payload_hex", &expected_length);
  CHECK(frame.payload_size == expected_length && memcmp(frame.payload, expected, expected_length) == 0);
  uint8_t *encoded = NULL;
  size_t encoded_length = 0;
  ac_append_frame(&encoded, &encoded_length, frame.type, frame.flags, frame.call_id, NULL, expected, expected_length);
  CHECK(encoded_length == length && memcmp(encoded, hex, length) == 0);
  free(encoded);
  free(expected);
  free(frame.payload);
  close(fd);
  free(hex);
}

static void check_tunnel(const vector *v) {
  size_t length, raw_length;
  uint8_t *hex = vector_bytes(v, "hex", &length);
  uint8_t *raw = vector_bytes(v, "raw", &raw_length);
  uint8_t *all = malloc(length + raw_length);
  memcpy(all, hex, length);
  memcpy(all + length, raw, raw_length);
  int fd = feed(all, length + raw_length);
  agentcube_error err;
  uint8_t preface[8];
  CHECK_OK(ac_read_exact(fd, preface, 8, ac_deadline(5000), &err), err);
  int switch_type = strcmp(vector_field(v, "side"), "client") == 0 ? AC_REQUEST : AC_RESPONSE;
  ac_frame_reader reader = {.max_frame_size = AC_DEFAULT_MAX_FRAME_SIZE};
  for (;;) {
    ac_frame frame = {0};
    int got = ac_read_frame(fd, &reader, ac_deadline(5000), &frame, &err);
    CHECK(got == 1);
    free(frame.payload);
    if (got != 1 || frame.type == switch_type) break;
  }
  uint8_t rest[256];
  size_t have = 0;
  ssize_t n;
  while ((n = read(fd, rest + have, sizeof rest - have)) > 0) have += (size_t)n;
  CHECK(have == raw_length && memcmp(rest, raw, raw_length) == 0);
  close(fd);
  free(all);
  free(raw);
  free(hex);
}

static void check_oversize_before_payload(void) {
  uint8_t head[4] = {0x00, 0x40, 0x00, 0x01}; /* 4 MiB + 1, and no payload at all */
  int fd = feed(head, 4);
  ac_frame_reader reader = {.max_frame_size = AC_DEFAULT_MAX_FRAME_SIZE};
  ac_frame frame = {0};
  agentcube_error err;
  CHECK(ac_read_frame(fd, &reader, ac_deadline(5000), &frame, &err) == AGENTCUBE_UNAVAILABLE);
  CHECK(strstr(err.message, "exceeds the maximum frame size 4194304") != NULL);
  CHECK(reader.payload == NULL);
  ac_frame_reader_reset(&reader);
  close(fd);
}

static int code_named(const char *name) {
  for (int code = 0; code <= 16; code++)
    if (strcmp(agentcube_code_name(code), name) == 0) return code;
  return -1;
}

static void check_exchange(const test_server *server, const vector_set *set, const vector *v) {
  agentcube_error err;
  int fd;
  CHECK_OK(ac_dial(server->unix_target, ac_deadline(10000), &fd, &err), err);
  size_t length;
  uint8_t *send = vector_bytes(v, "send", &length);
  const char *preface = vector_field(v, "preface");
  if (preface == NULL || strcmp(preface, "none") != 0) {
    size_t settings_length;
    uint8_t *settings = vector_bytes(vector_named(set, "frame-settings-client"), "hex", &settings_length);
    uint8_t opening[8];
    ac_preface(opening);
    ac_write_all(fd, opening, 8, ac_deadline(5000), &err);
    ac_write_all(fd, settings, settings_length, ac_deadline(5000), &err);
    free(settings);
  }
  ac_write_all(fd, send, length, ac_deadline(5000), &err);
  free(send);
  const char *expect = vector_field(v, "expect");
  if (strcmp(expect, "http") == 0) {
    char answer[1024] = "";
    size_t have = 0;
    ssize_t n;
    while (have < sizeof answer - 1 && (n = read(fd, answer + have, sizeof answer - 1 - have)) > 0) have += (size_t)n;
    answer[have] = '\0';
    /* The vector's lines end in CRLF in the answer, the body's last in LF alone. */
    char expected[1024] = "";
    for (const char *line = v->text; *line;) {
      const char *end = strchr(line, '\n');
      strncat(expected, line, (size_t)(end - line));
      strcat(expected, end[1] ? "\r\n" : "\n");
      line = end + 1;
    }
    CHECK(strcmp(answer, expected) == 0);
    close(fd);
    return;
  }
  uint8_t server_preface[8];
  CHECK_OK(ac_read_exact(fd, server_preface, 8, ac_deadline(10000), &err), err);
  if (strcmp(expect, "version") == 0) {
    CHECK(server_preface[6] * 256 + server_preface[7] == atoi(vector_field(v, "version")));
    close(fd);
    return;
  }
  ac_frame_reader reader = {.max_frame_size = AC_DEFAULT_MAX_FRAME_SIZE};
  for (;;) {
    ac_frame frame = {0};
    int got = ac_read_frame(fd, &reader, ac_deadline(10000), &frame, &err);
    CHECK(got == 1);
    if (got != 1) {
      fprintf(stderr, "%s: no answer: %s\n", v->name, err.message);
      break;
    }
    int done = 0;
    if (strcmp(expect, "response") == 0 && frame.type == AC_RESPONSE) {
      Agentcube__V1__Wire__Response *response = agentcube__v1__wire__response__unpack(NULL, frame.payload_size, frame.payload);
      CHECK(response != NULL && frame.call_id == strtoul(vector_field(v, "call_id"), NULL, 10));
      int code = response->status != NULL ? (int)response->status->code : 0;
      const char *message = response->status != NULL ? response->status->message : "";
      CHECK(code == code_named(vector_field(v, "code")));
      CHECK(strcmp(message, vector_field(v, "message")) == 0);
      agentcube__v1__wire__response__free_unpacked(response, NULL);
      done = 1;
    } else if (strcmp(expect, "ping-ack") == 0 && frame.type == AC_PING) {
      size_t expected_length;
      uint8_t *expected = vector_bytes(v, "payload_hex", &expected_length);
      CHECK(frame.flags == AC_PING_ACK && frame.payload_size == expected_length &&
            memcmp(frame.payload, expected, expected_length) == 0);
      free(expected);
      done = 1;
    } else if (frame.type == AC_GOAWAY) {
      CHECK(strcmp(expect, "goaway") == 0);
      Agentcube__V1__Wire__GoAway *goaway = agentcube__v1__wire__go_away__unpack(NULL, frame.payload_size, frame.payload);
      CHECK(goaway != NULL);
      if (goaway != NULL && strcmp(expect, "goaway") == 0) {
        CHECK((int)goaway->code == code_named(vector_field(v, "code")));
        CHECK(strcmp(goaway->message, vector_field(v, "message")) == 0);
        CHECK(goaway->last_call_id == strtoul(vector_field(v, "last_call_id"), NULL, 10));
      }
      if (goaway != NULL) agentcube__v1__wire__go_away__free_unpacked(goaway, NULL);
      done = 1;
    }
    free(frame.payload);
    if (done) break;
  }
  ac_frame_reader_reset(&reader);
  close(fd);
}

int main(void) {
  vector_set set = vectors_load();
  size_t counts[5] = {0};
  for (size_t i = 0; i < set.count; i++) {
    const vector *v = &set.items[i];
    int before = test_failures;
    if (strcmp(v->kind, "message") == 0) check_message(v), counts[0]++;
    else if (strcmp(v->kind, "frame") == 0) check_frame(&set, v), counts[1]++;
    else if (strcmp(v->kind, "tunnel") == 0) check_tunnel(v), counts[2]++;
    if (test_failures != before) fprintf(stderr, "  in vector %s\n", v->name);
  }
  check_oversize_before_payload();
  test_server server;
  server_start(&server);
  for (size_t i = 0; i < set.count; i++) {
    const vector *v = &set.items[i];
    int before = test_failures;
    if (strcmp(v->kind, "exchange") == 0) check_exchange(&server, &set, v), counts[3]++;
    if (test_failures != before) fprintf(stderr, "  in vector %s\n", v->name);
  }
  server_stop(&server);
  vectors_free(&set);
  printf("vectors: %zu messages, %zu frames, %zu tunnel switches, %zu exchanges; %d failures\n", counts[0], counts[1],
         counts[2], counts[3], test_failures);
  return test_failures == 0 ? 0 : 1;
}
