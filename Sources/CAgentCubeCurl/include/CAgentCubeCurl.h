#ifndef CAGENTCUBE_CURL_H
#define CAGENTCUBE_CURL_H

// A typed face on libcurl for Swift, which cannot call curl_easy_setopt's variadic form: one
// function per argument type, and the callbacks' C signatures.
#include <curl/curl.h>

typedef size_t (*agentcube_curl_data_callback)(char *bytes, size_t size, size_t count, void *context);

static inline CURLcode agentcube_curl_set_string(CURL *easy, CURLoption option, const char *value) {
  return curl_easy_setopt(easy, option, value);
}

static inline CURLcode agentcube_curl_set_long(CURL *easy, CURLoption option, long value) {
  return curl_easy_setopt(easy, option, value);
}

static inline CURLcode agentcube_curl_set_pointer(CURL *easy, CURLoption option, void *value) {
  return curl_easy_setopt(easy, option, value);
}

static inline CURLcode agentcube_curl_set_headers(CURL *easy, struct curl_slist *headers) {
  return curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
}

/// `bytes` (not copied: they must outlive the transfer) as the request body.
static inline CURLcode agentcube_curl_set_body(CURL *easy, const void *bytes, long count) {
  CURLcode code = curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, count);
  return code == CURLE_OK ? curl_easy_setopt(easy, CURLOPT_POSTFIELDS, bytes) : code;
}

/// PEM bytes (copied by curl) for the CA, client certificate or key option given.
static inline CURLcode agentcube_curl_set_blob(CURL *easy, CURLoption option, void *bytes, size_t count) {
  struct curl_blob blob = {.data = bytes, .len = count, .flags = CURL_BLOB_COPY};
  return curl_easy_setopt(easy, option, &blob);
}

static inline CURLcode agentcube_curl_set_write_callback(CURL *easy, agentcube_curl_data_callback callback, void *context) {
  CURLcode code = curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, callback);
  return code == CURLE_OK ? curl_easy_setopt(easy, CURLOPT_WRITEDATA, context) : code;
}

static inline CURLcode agentcube_curl_set_header_callback(CURL *easy, agentcube_curl_data_callback callback, void *context) {
  CURLcode code = curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, callback);
  return code == CURLE_OK ? curl_easy_setopt(easy, CURLOPT_HEADERDATA, context) : code;
}

static inline long agentcube_curl_response_code(CURL *easy) {
  long code = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

static inline void *agentcube_curl_private(CURL *easy) {
  char *pointer = NULL;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &pointer);
  return pointer;
}

/// What a write callback returns to pause the transfer: libcurl keeps the bytes and hands them
/// over again after `agentcube_curl_resume_receiving`.
static inline size_t agentcube_curl_write_pause(void) { return CURL_WRITEFUNC_PAUSE; }

/// Unpauses a transfer paused by its write callback (call from the thread driving the multi handle).
static inline CURLcode agentcube_curl_resume_receiving(CURL *easy) {
  return curl_easy_pause(easy, CURLPAUSE_CONT);
}

static inline CURLMcode agentcube_curl_multi_set_long(CURLM *multi, CURLMoption option, long value) {
  return curl_multi_setopt(multi, option, value);
}

/// The easy handle and result of the next finished transfer, or 0 when none is left.
static inline int agentcube_curl_multi_next_done(CURLM *multi, CURL **easy, CURLcode *result) {
  int left = 0;
  CURLMsg *message;
  while ((message = curl_multi_info_read(multi, &left)) != NULL) {
    if (message->msg == CURLMSG_DONE) {
      *easy = message->easy_handle;
      *result = message->data.result;
      return 1;
    }
  }
  return 0;
}

#endif
