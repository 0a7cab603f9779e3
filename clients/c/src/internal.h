/* Internal pieces of libagentcube: errors, deadlines, sockets and the frame reader. */
#ifndef AGENTCUBE_INTERNAL_H
#define AGENTCUBE_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "agentcube.h"

#define AC_PREFACE_LENGTH 8
#define AC_HEADER_SIZE 6 /* type, flags, call id: counted by a frame's length */
#define AC_DEFAULT_MAX_FRAME_SIZE (4u * 1024u * 1024u)
#define AC_FRAME_READ_TIMEOUT_MS 10000
#define AC_AGENT "agentcube-c/0.1"

enum { AC_SETTINGS = 0, AC_REQUEST = 1, AC_RESPONSE = 2, AC_CANCEL = 3, AC_PING = 4, AC_GOAWAY = 5 };
#define AC_PING_ACK 0x01

/* Sets *err (when not NULL) and returns CODE. */
int ac_fail(agentcube_error *err, int code, const char *format, ...) __attribute__((format(printf, 3, 4)));

/* Milliseconds on the monotonic clock; a deadline of 0 means none. */
int64_t ac_now_ms(void);
int64_t ac_deadline(int timeout_ms);
/* Milliseconds left until DEADLINE for poll() (-1: none; 0 when it passed). */
int ac_remaining(int64_t deadline);

/* A connected blocking socket to TARGET ("unix:PATH" or "HOST:PORT"). */
int ac_dial(const char *target, int64_t deadline, int *fd, agentcube_error *err);
/* Writes all of DATA before DEADLINE. */
int ac_write_all(int fd, const uint8_t *data, size_t length, int64_t deadline, agentcube_error *err);

/* The preface offering version 1. */
void ac_preface(uint8_t out[AC_PREFACE_LENGTH]);
/* Appends a frame to a malloc'ed buffer (*buffer, *length); returns 0, or -1 when out of memory. */
int ac_append_frame(uint8_t **buffer, size_t *length, uint8_t type, uint8_t flags, uint32_t call_id,
                    const ProtobufCMessage *message, const uint8_t *raw, size_t raw_length);

/* One frame being read: the header first, its length checked before the payload is allocated. */
typedef struct ac_frame_reader {
  uint8_t header[4 + AC_HEADER_SIZE];
  size_t header_have;
  uint8_t *payload;
  size_t payload_size;
  size_t payload_have;
  uint32_t max_frame_size;
  int64_t started_ms; /* when the frame's first byte came (0: none yet) */
} ac_frame_reader;

typedef struct ac_frame {
  uint8_t type;
  uint8_t flags;
  uint32_t call_id;
  uint8_t *payload; /* malloc'ed; the caller frees it */
  size_t payload_size;
} ac_frame;

/* Reads towards the next frame, never past its last byte, until DEADLINE.
 * Returns 1 with *frame filled, 0 when DEADLINE passed first, or an error code (connection closed,
 * a length out of bounds, a frame not finished within AC_FRAME_READ_TIMEOUT_MS of its first byte). */
int ac_read_frame(int fd, ac_frame_reader *reader, int64_t deadline, ac_frame *frame, agentcube_error *err);
void ac_frame_reader_reset(ac_frame_reader *reader);

/* Reads exactly LENGTH bytes before DEADLINE. */
int ac_read_exact(int fd, uint8_t *out, size_t length, int64_t deadline, agentcube_error *err);

/* Builds the REQUEST payload and frame of a call. */
int ac_request_frame(uint8_t **buffer, size_t *length, uint32_t call_id, const char *method,
                     const ProtobufCMessage *request, const char *token, const agentcube_metadata *metadata,
                     size_t metadata_count, int timeout_ms, agentcube_error *err);

/* The response message of a RESPONSE payload, or the status's error. */
int ac_response_message(const uint8_t *payload, size_t size, const ProtobufCMessageDescriptor *type,
                        ProtobufCMessage **out, agentcube_error *err);

#endif
