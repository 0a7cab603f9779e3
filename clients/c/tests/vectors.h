/* Protos/testdata/vectors.txt for the C tests, and protobuf text format as Python prints it. */
#ifndef AGENTCUBE_TEST_VECTORS_H
#define AGENTCUBE_TEST_VECTORS_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#define VECTOR_MAX_FIELDS 16

typedef struct vector {
  char kind[32];
  char name[96];
  size_t field_count;
  char *keys[VECTOR_MAX_FIELDS];
  char *values[VECTOR_MAX_FIELDS]; /* repeated keys concatenated with a space */
  char *text;                      /* the "| " lines, each ending in \n */
} vector;

typedef struct vector_set {
  vector *items;
  size_t count;
} vector_set;

/* Loads $AGENTCUBE_VECTORS (exits on failure). */
vector_set vectors_load(void);
void vectors_free(vector_set *set);
const char *vector_field(const vector *v, const char *key); /* NULL when absent */
const vector *vector_named(const vector_set *set, const char *name);
/* The bytes of a hex field (malloc'ed; *length set); an absent field is empty. */
uint8_t *vector_bytes(const vector *v, const char *key, size_t *length);

/* The generated descriptor of a full message name, or NULL. */
const ProtobufCMessageDescriptor *descriptor_named(const char *full_name);
/* MESSAGE in protobuf text format, as Python's text_format.MessageToString(m, as_utf8=False). */
char *text_format(const ProtobufCMessage *message);

#endif
