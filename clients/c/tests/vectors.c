#include "vectors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentcube.h"

static void die(const char *what) {
  fprintf(stderr, "vectors: %s\n", what);
  exit(2);
}

vector_set vectors_load(void) {
  const char *path = getenv("AGENTCUBE_VECTORS");
  if (path == NULL) die("AGENTCUBE_VECTORS is not set");
  FILE *file = fopen(path, "r");
  if (file == NULL) die("cannot open $AGENTCUBE_VECTORS");
  vector_set set = {0};
  size_t capacity = 0;
  char *line = NULL;
  size_t line_capacity = 0;
  ssize_t length;
  while ((length = getline(&line, &line_capacity, file)) >= 0) {
    while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r')) line[--length] = '\0';
    if (length == 0 || line[0] == '#') continue;
    if (strncmp(line, "== ", 3) == 0) {
      if (set.count == capacity) {
        capacity = capacity ? capacity * 2 : 64;
        set.items = realloc(set.items, capacity * sizeof *set.items);
        if (set.items == NULL) die("out of memory");
      }
      vector *v = &set.items[set.count++];
      memset(v, 0, sizeof *v);
      if (sscanf(line + 3, "%31s %95s", v->kind, v->name) != 2) die("bad vector header");
      v->text = strdup("");
      continue;
    }
    if (set.count == 0) die("a line before the first vector");
    vector *v = &set.items[set.count - 1];
    if (line[0] == '|') {
      const char *content = line[1] == ' ' ? line + 2 : line + 1;
      size_t old = strlen(v->text);
      v->text = realloc(v->text, old + strlen(content) + 2);
      sprintf(v->text + old, "%s\n", content);
      continue;
    }
    char *colon = strchr(line, ':');
    if (colon == NULL) die("a line without ':'");
    *colon = '\0';
    const char *value = colon[1] == ' ' ? colon + 2 : colon + 1;
    size_t index = 0;
    while (index < v->field_count && strcmp(v->keys[index], line) != 0) index++;
    if (index == v->field_count) {
      if (v->field_count == VECTOR_MAX_FIELDS) die("too many fields");
      v->keys[index] = strdup(line);
      v->values[index] = strdup(value);
      v->field_count++;
    } else {
      size_t old = strlen(v->values[index]);
      v->values[index] = realloc(v->values[index], old + strlen(value) + 2);
      sprintf(v->values[index] + old, "%s%s", old ? " " : "", value);
    }
  }
  free(line);
  fclose(file);
  return set;
}

void vectors_free(vector_set *set) {
  for (size_t i = 0; i < set->count; i++) {
    for (size_t f = 0; f < set->items[i].field_count; f++) {
      free(set->items[i].keys[f]);
      free(set->items[i].values[f]);
    }
    free(set->items[i].text);
  }
  free(set->items);
  set->items = NULL;
  set->count = 0;
}

const char *vector_field(const vector *v, const char *key) {
  for (size_t i = 0; i < v->field_count; i++)
    if (strcmp(v->keys[i], key) == 0) return v->values[i];
  return NULL;
}

const vector *vector_named(const vector_set *set, const char *name) {
  for (size_t i = 0; i < set->count; i++)
    if (strcmp(set->items[i].name, name) == 0) return &set->items[i];
  return NULL;
}

uint8_t *vector_bytes(const vector *v, const char *key, size_t *length) {
  const char *hex = vector_field(v, key);
  size_t size = hex ? (strlen(hex) + 1) / 3 : 0;
  uint8_t *out = malloc(size ? size : 1);
  *length = 0;
  for (const char *p = hex; p != NULL && *p;) {
    unsigned byte;
    if (sscanf(p, "%2x", &byte) != 1) die("bad hex");
    out[(*length)++] = (uint8_t)byte;
    p += 2;
    while (*p == ' ') p++;
  }
  return out;
}

static const ProtobufCMessageDescriptor *const all_descriptors[] = {
    &agentcube__v1__wire__settings__descriptor, &agentcube__v1__wire__metadata_entry__descriptor,
    &agentcube__v1__wire__request__descriptor, &agentcube__v1__wire__status__descriptor,
    &agentcube__v1__wire__error_detail__descriptor, &agentcube__v1__wire__response__descriptor,
    &agentcube__v1__wire__go_away__descriptor, &agentcube__v1__metadata_pair__descriptor,
    &agentcube__v1__session__descriptor, &agentcube__v1__create_session_request__descriptor,
    &agentcube__v1__create_session_response__descriptor, &agentcube__v1__get_session_request__descriptor,
    &agentcube__v1__get_session_response__descriptor, &agentcube__v1__delete_session_request__descriptor,
    &agentcube__v1__delete_session_response__descriptor, &agentcube__v1__list_sessions_request__descriptor,
    &agentcube__v1__list_sessions_response__descriptor, &agentcube__v1__renew_session_request__descriptor,
    &agentcube__v1__renew_session_response__descriptor, &agentcube__v1__open_tunnel_request__descriptor,
    &agentcube__v1__open_tunnel_response__descriptor, &agentcube__v1__health_check_request__descriptor,
    &agentcube__v1__health_check_response__descriptor,
};

const ProtobufCMessageDescriptor *descriptor_named(const char *full_name) {
  for (size_t i = 0; i < sizeof all_descriptors / sizeof *all_descriptors; i++)
    if (strcmp(all_descriptors[i]->name, full_name) == 0) return all_descriptors[i];
  return NULL;
}

typedef struct text {
  char *data;
  size_t length, capacity;
} text;

static void put(text *out, const char *data, size_t length) {
  if (out->length + length + 1 > out->capacity) {
    out->capacity = (out->length + length + 1) * 2;
    out->data = realloc(out->data, out->capacity);
  }
  memcpy(out->data + out->length, data, length);
  out->length += length;
  out->data[out->length] = '\0';
}

static void puts_(text *out, const char *data) { put(out, data, strlen(data)); }

/* Python's CEscape(as_utf8=False): \n \r \t \" \' \\, other bytes outside 32..126 as \ooo. */
static void put_escaped(text *out, const uint8_t *data, size_t length) {
  char buffer[8];
  for (size_t i = 0; i < length; i++) {
    uint8_t c = data[i];
    if (c == '\n') puts_(out, "\\n");
    else if (c == '\r') puts_(out, "\\r");
    else if (c == '\t') puts_(out, "\\t");
    else if (c == '"') puts_(out, "\\\"");
    else if (c == '\'') puts_(out, "\\'");
    else if (c == '\\') puts_(out, "\\\\");
    else if (c < 32 || c >= 127) {
      snprintf(buffer, sizeof buffer, "\\%03o", c);
      puts_(out, buffer);
    } else {
      put(out, (const char *)&c, 1);
    }
  }
}

static void print_message(text *out, const ProtobufCMessage *message, int indent);

static void print_value(text *out, const ProtobufCFieldDescriptor *field, const void *value, int indent) {
  char buffer[64];
  for (int i = 0; i < indent; i++) puts_(out, " ");
  puts_(out, field->name);
  if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
    puts_(out, " {\n");
    print_message(out, *(const ProtobufCMessage *const *)value, indent + 2);
    for (int i = 0; i < indent; i++) puts_(out, " ");
    puts_(out, "}\n");
    return;
  }
  puts_(out, ": ");
  switch (field->type) {
    case PROTOBUF_C_TYPE_STRING: {
      const char *s = *(const char *const *)value;
      puts_(out, "\"");
      put_escaped(out, (const uint8_t *)s, strlen(s));
      puts_(out, "\"");
      break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
      const ProtobufCBinaryData *b = value;
      puts_(out, "\"");
      put_escaped(out, b->data, b->len);
      puts_(out, "\"");
      break;
    }
    case PROTOBUF_C_TYPE_ENUM: {
      const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(field->descriptor, *(const int *)value);
      if (v != NULL) puts_(out, v->name);
      else snprintf(buffer, sizeof buffer, "%d", *(const int *)value), puts_(out, buffer);
      break;
    }
    case PROTOBUF_C_TYPE_BOOL: puts_(out, *(const protobuf_c_boolean *)value ? "true" : "false"); break;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
      snprintf(buffer, sizeof buffer, "%u", *(const uint32_t *)value), puts_(out, buffer); break;
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
      snprintf(buffer, sizeof buffer, "%d", *(const int32_t *)value), puts_(out, buffer); break;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
      snprintf(buffer, sizeof buffer, "%llu", (unsigned long long)*(const uint64_t *)value), puts_(out, buffer); break;
    default:
      snprintf(buffer, sizeof buffer, "%lld", (long long)*(const int64_t *)value), puts_(out, buffer); break;
  }
  puts_(out, "\n");
}

static size_t value_size(const ProtobufCFieldDescriptor *field) {
  switch (field->type) {
    case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE: return 8;
    default: return 4;
  }
}

static int is_default(const ProtobufCFieldDescriptor *field, const void *value) {
  switch (field->type) {
    case PROTOBUF_C_TYPE_MESSAGE: return *(void *const *)value == NULL;
    case PROTOBUF_C_TYPE_STRING: return **(const char *const *)value == '\0';
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)value)->len == 0;
    default: {
      static const uint8_t zeros[8];
      return memcmp(value, zeros, value_size(field)) == 0;
    }
  }
}

static void print_message(text *out, const ProtobufCMessage *message, int indent) {
  const ProtobufCMessageDescriptor *d = message->descriptor;
  /* Fields in number order, as Python's ListFields. */
  const ProtobufCFieldDescriptor *order[64];
  unsigned n = d->n_fields < 64 ? d->n_fields : 64;
  for (unsigned i = 0; i < n; i++) order[i] = &d->fields[i];
  for (unsigned i = 1; i < n; i++)
    for (unsigned j = i; j > 0 && order[j - 1]->id > order[j]->id; j--) {
      const ProtobufCFieldDescriptor *t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  for (unsigned i = 0; i < n; i++) {
    const ProtobufCFieldDescriptor *field = order[i];
    const char *base = (const char *)message + field->offset;
    if (field->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t count = *(const size_t *)((const char *)message + field->quantifier_offset);
      const char *items = *(const char *const *)base;
      for (size_t k = 0; k < count; k++) print_value(out, field, items + k * value_size(field), indent);
    } else if (!is_default(field, base)) {
      print_value(out, field, base, indent);
    }
  }
}

char *text_format(const ProtobufCMessage *message) {
  text out = {0};
  puts_(&out, "");
  print_message(&out, message, 0);
  return out.data;
}
