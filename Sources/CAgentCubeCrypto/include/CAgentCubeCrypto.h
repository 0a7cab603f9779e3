#ifndef CAGENTCUBE_CRYPTO_H
#define CAGENTCUBE_CRYPTO_H

#include <stddef.h>
// SHA256_Init and friends: OpenSSL 3 deprecates them for EVP, but their context is a plain struct
// that can be copied without allocating (an EVP_MD_CTX copy allocates and touches shared provider
// reference counts: 4-5 µs per HMAC on two busy threads, against 0.4 µs alone).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

/// A SHA-256 context from libcrypto, or NULL when it cannot be made.
static inline EVP_MD_CTX *agentcube_sha256_new(void) {
  EVP_MD_CTX *context = EVP_MD_CTX_new();
  if (context != NULL && EVP_DigestInit_ex(context, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(context);
    return NULL;
  }
  return context;
}

/// Adds bytes; 1 on success.
static inline int agentcube_sha256_update(EVP_MD_CTX *context, const void *bytes, size_t count) {
  return EVP_DigestUpdate(context, bytes, count);
}

/// Writes the 32-byte digest; 1 on success. The context may be used no more but must be freed.
static inline int agentcube_sha256_final(EVP_MD_CTX *context, unsigned char *digest32) {
  unsigned int length = 0;
  return EVP_DigestFinal_ex(context, digest32, &length);
}

static inline void agentcube_sha256_free(EVP_MD_CTX *context) { EVP_MD_CTX_free(context); }

/// An HMAC-SHA256 key as the SHA-256 states after its inner and outer pads (RFC 2104): each MAC
/// then costs two hashes of its own bytes, not a key schedule, and a copy of a plain struct (no
/// allocation, nothing shared is written). Read-only once made: safe to share between threads.
typedef struct agentcube_hmac_sha256_key {
  SHA256_CTX inner;
  SHA256_CTX outer;
} agentcube_hmac_sha256_key;

static inline void agentcube_hmac_sha256_free(agentcube_hmac_sha256_key *key) {
  if (key != NULL) OPENSSL_clear_free(key, sizeof(*key));
}

/// A key of at most 64 bytes (SHA-256's block), or NULL.
static inline agentcube_hmac_sha256_key *agentcube_hmac_sha256_new(const unsigned char *bytes, size_t count) {
  if (count > 64) return NULL;
  agentcube_hmac_sha256_key *key = OPENSSL_zalloc(sizeof(*key));
  if (key == NULL) return NULL;
  unsigned char inner[64], outer[64];
  for (size_t i = 0; i < 64; i++) {
    unsigned char byte = i < count ? bytes[i] : 0;
    inner[i] = byte ^ 0x36;
    outer[i] = byte ^ 0x5c;
  }
  int ok = SHA256_Init(&key->inner) == 1 && SHA256_Update(&key->inner, inner, 64) == 1 &&
           SHA256_Init(&key->outer) == 1 && SHA256_Update(&key->outer, outer, 64) == 1;
  OPENSSL_cleanse(inner, sizeof inner);
  OPENSSL_cleanse(outer, sizeof outer);
  if (!ok) {
    agentcube_hmac_sha256_free(key);
    return NULL;
  }
  return key;
}

/// HMAC-SHA256 of `bytes` under `key` into `digest32`; 1 on success.
static inline int agentcube_hmac_sha256(
    const agentcube_hmac_sha256_key *key, const void *bytes, size_t count, unsigned char *digest32) {
  SHA256_CTX work = key->inner;
  unsigned char inner[32];
  int ok = SHA256_Update(&work, bytes, count) == 1 && SHA256_Final(inner, &work) == 1;
  work = key->outer;
  ok = ok && SHA256_Update(&work, inner, 32) == 1 && SHA256_Final(digest32, &work) == 1;
  OPENSSL_cleanse(&work, sizeof work);
  OPENSSL_cleanse(inner, sizeof inner);
  return ok;
}

/// Fills `out` with `count` bytes from the system's CSPRNG; 1 on success.
static inline int agentcube_random_bytes(unsigned char *out, size_t count) { return RAND_bytes(out, (int)count); }

/// Writes the subject of a DER certificate as an RFC 4514 string ("CN=agent,O=Example") into `out`
/// (NUL-terminated, truncated to `capacity`); returns its full length, or -1 when `der` is not a
/// certificate.
static inline long agentcube_x509_subject(const unsigned char *der, size_t count, char *out, size_t capacity) {
  const unsigned char *cursor = der;
  X509 *certificate = d2i_X509(NULL, &cursor, (long)count);
  if (certificate == NULL) return -1;
  BIO *memory = BIO_new(BIO_s_mem());
  long length = -1;
  if (memory != NULL && X509_NAME_print_ex(memory, X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253) >= 0) {
    char *text = NULL;
    length = BIO_get_mem_data(memory, &text);
    if (capacity > 0) {
      size_t copied = (size_t)length < capacity - 1 ? (size_t)length : capacity - 1;
      for (size_t i = 0; i < copied; i++) out[i] = text[i];
      out[copied] = 0;
    }
  }
  BIO_free(memory);
  X509_free(certificate);
  return length;
}

#endif
